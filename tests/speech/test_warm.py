"""Closed streams leave their recognisers warm for the next ones."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

import pytest

from interview_rt import pools
from speech.frames import AudioChunk, Final
from speech.interface import PLAIN, StreamOptions
from speech.stream import SpeechStream
from speech.warm import warm
from tests.audio_fixtures import KOREAN_SHORT, frames, silence, speak

LEAD_IN_S = 0.5


@pytest.fixture(autouse=True)
def empty_pool():
    warm.clear()
    yield
    warm.clear()


async def spoken_turn(stream: SpeechStream) -> Final:
    got = []
    for frame in frames(silence(LEAD_IN_S) + speak(KOREAN_SHORT)):
        got += [f for f in await stream.accept(AudioChunk(frame, 16000)) if isinstance(f, Final)]
    final = await stream.finish_utterance()
    return final or got[-1]


async def test_a_new_stream_gets_the_last_streams_recogniser_with_its_own_clock():
    first = await SpeechStream.open("ko")
    recogniser = first.recognizer
    for _ in range(3):
        await spoken_turn(first)
    assert first.audio_time_s > 6
    await first.close()
    assert warm.count() == 1

    second = await SpeechStream.open("ko")
    assert second.recognizer is recogniser and warm.count() == 0
    final = await spoken_turn(second)
    # Stream time starts at 0 for the new stream, not where the old one stopped.
    assert LEAD_IN_S - 0.2 <= final.words[0].start <= second.audio_time_s
    assert final.end_s <= second.audio_time_s + 0.05
    assert second.last_word_end_s <= second.audio_time_s + 0.05
    await second.close()


async def test_the_pool_never_holds_more_than_the_stream_limit(settings):
    settings.RT = replace(settings.RT, stt_max_streams=2)
    streams = [await SpeechStream.open("ko") for _ in range(2)]
    for stream in streams:
        await stream.close()
    assert warm.count() == 2
    again = [await SpeechStream.open("ko") for _ in range(2)]
    assert warm.count() == 0
    for stream in again:
        await stream.close()
    assert warm.count() == 2


async def test_keep_warm_off_gives_every_stream_a_new_recogniser(settings):
    settings.RT = replace(settings.RT, stt_keep_warm=False)
    first = await SpeechStream.open("ko")
    recogniser = first.recognizer
    await first.close()
    second = await SpeechStream.open("ko")
    assert second.recognizer is not recogniser and warm.count() == 0
    await second.close()


async def test_a_stream_opened_while_another_closes_gets_its_recogniser(settings):
    """A client that reconnects per utterance opens the next stream before the
    last one's recogniser is back in the pool: it waits for it, not a cold one."""
    first = await SpeechStream.open("ko")
    recogniser = first.recognizer
    await spoken_turn(first)
    # Busy decoder threads: the closing stream's flush waits in the queue.
    gate = threading.Event()
    for _ in range(settings.RT.stt_threads):
        pools.executor("stt").submit(gate.wait)
    closing = asyncio.ensure_future(first.close())
    await asyncio.sleep(0)
    assert warm.count() == 0
    asyncio.get_running_loop().call_later(0.2, gate.set)
    second = await SpeechStream.open("ko")
    assert second.recognizer is recogniser
    await closing
    await second.close()
    assert warm.count() == 1


@pytest.mark.parametrize(
    "options",
    [StreamOptions(phrase_list=("소프트웨어 엔지니어 입니다",)), StreamOptions(max_alternatives=3)],
    ids=["phrase_list", "max_alternatives"],
)
async def test_a_recogniser_with_other_options_is_never_kept_nor_taken(options):
    """A grammar or alternatives stay with the stream that asked for them: its
    recogniser is closed with it, and it never takes a plain warm one."""
    plain = await SpeechStream.open("ko")
    plain_recogniser = plain.recognizer
    await plain.close()
    assert warm.count() == 1

    special = await SpeechStream.open("ko", options=options)
    recogniser = special.recognizer
    assert recogniser is not plain_recogniser and warm.count() == 1
    assert recogniser.options == options
    await spoken_turn(special)
    await special.close()
    assert warm.count() == 1 and recogniser.recognizer is None  # closed, not kept

    again = await SpeechStream.open("ko")
    assert again.recognizer is plain_recogniser and again.recognizer.options == PLAIN
    await again.close()
