"""Closed streams leave their recognisers warm for the next ones."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

import pytest

from interview_rt import pools
from speech.frames import AudioChunk, Final
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
