"""The warm pool: recognisers warmed ahead of need, refilled, bounded.

A counting stand-in engine shows the pool's bounds and where the warming
runs; one test warms a real Vosk recogniser on the shipped recording.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace

import pytest
from prometheus_client import REGISTRY

from speech import engines, memory
from speech.frames import Final, Partial
from speech.model_registry import registry
from speech.stream import SpeechStream
from speech.transcribe import preload_default_model
from speech.vosk_engine import VoskEngine
from speech.warm import warm, warmup_pcm

COUNTING = f"{__name__}.CountingEngine"


class CountingStream:
    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.fed_s = 0.0
        self.closed = False
        self.threads: set[str] = set()

    def feed(self, pcm: bytes):
        self.threads.add(threading.current_thread().name)
        self.fed_s += len(pcm) / 2 / self.rate

    def partial(self):
        return Partial("")

    def finish(self):
        return Final("", 0.0, 0.0)

    def reset(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    @property
    def decoded_s(self) -> float:
        return self.fed_s


class CountingEngine:
    opened: list[CountingStream] = []

    def available(self, language: str) -> bool:
        return True

    def load(self, language: str) -> str:
        return "counting"

    def open(self, model, sample_rate, options) -> CountingStream:
        stream = CountingStream(sample_rate)
        CountingEngine.opened.append(stream)
        return stream


@pytest.fixture
def pool(settings):
    """A pool of `size` on the counting engine; waits for its refills to end."""
    warm.clear()
    CountingEngine.opened = []

    def sized(size: int, **more):
        more = {"stt_warm_refill_delay_s": 0.0, **more}
        settings.RT = replace(settings.RT, speech_engine=COUNTING, stt_warm_pool_size=size, **more)
        return engines.current()

    yield sized
    settled()
    warm.clear()


def settled(timeout: float = 10.0) -> None:
    """Until no refill is under way."""
    deadline = time.monotonic() + timeout
    while warm.refilling():
        assert time.monotonic() < deadline, "the refill did not end"
        time.sleep(0.02)


async def asettled() -> None:
    await asyncio.to_thread(settled)


async def test_start_up_fills_the_pool_in_the_background(pool):
    engine = pool(3, default_language="zz")
    thread = preload_default_model()
    thread.join(5)
    await asettled()
    assert warm.count() == 3 and warm.warmed == 3
    recording_s = len(warmup_pcm(16000)) / 2 / 16000
    assert all(s.fed_s == pytest.approx(recording_s) for s in CountingEngine.opened)
    # Every piece was decoded in the decoder pool, never on the event loop's thread.
    threads = set().union(*(s.threads for s in CountingEngine.opened))
    assert threads and all(name.startswith("stt") for name in threads)
    assert isinstance(engine, CountingEngine)


async def test_a_stream_takes_a_warm_recogniser_and_lent_ones_count(pool):
    pool(3)
    first = await SpeechStream.open("zz")  # cold: nothing warmed yet; starts a refill
    await asettled()
    assert warm.count() == 2  # the first stream's recogniser counts: it will come back
    second = await SpeechStream.open("zz")
    assert second.recognizer.fed_s > 0  # warmed on the recording
    await asettled()
    assert warm.count() == 1 and warm.warmed == 2  # nothing warmed behind it
    await first.close()
    await second.close()
    assert warm.count() == 3  # both came back, and nothing was closed
    assert not any(s.closed for s in CountingEngine.opened)


async def test_a_client_reconnecting_per_utterance_costs_no_warming(pool):
    """/ws/asr/ clients open a stream per utterance: the recognisers go out
    and come back, and the pool warms none behind them (each costs the CPU
    of decoding a 6 s answer) nor closes any."""
    pool(4)
    preload_default_model().join(5)
    await asettled()
    assert warm.count() == 4 and warm.warmed == 4
    for _ in range(5):
        streams = [await SpeechStream.open("zz") for _ in range(3)]
        for stream in streams:
            stream.recognizer.feed(b"\0" * 32000)  # a second of speech
            await stream.close()
        await asyncio.sleep(0)
    await asettled()
    assert warm.warmed == 4 and warm.count() == 4
    assert len(CountingEngine.opened) == 4 and not any(s.closed for s in CountingEngine.opened)


async def test_a_refill_waits_for_its_delay(pool):
    pool(3, stt_warm_refill_delay_s=0.3)
    await SpeechStream.open("zz")  # cold; the pool fills after the delay
    await asettled()
    assert warm.warmed == 0  # not yet: the delay runs
    await asyncio.sleep(0.5)
    await asettled()
    assert warm.warmed == 2 and warm.count() == 2


async def test_a_full_pool_keeps_the_most_practised_recognisers(pool):
    """A recogniser that has decoded more decodes new speech faster (Vosk
    caches its graph): given back to a full pool, the least practised goes."""
    pool(2, stt_warm_refill_delay_s=60.0)  # no refill within the test
    streams = [await SpeechStream.open("zz") for _ in range(4)]  # 4 cold ones
    await asettled()
    for seconds, stream in zip((3, 1, 4, 2), streams, strict=True):
        stream.recognizer.feed(b"\0" * 32000 * seconds)
    for stream in streams:
        await stream.close()
    assert warm.count() == 2
    key = (engines.current(), "counting", 16000)
    kept = [warm.take(key), warm.take(key)]
    assert [r.fed_s for r in kept] == [4.0, 3.0]  # the most practised first
    assert sorted(s.fed_s for s in CountingEngine.opened if s.closed) == [1.0, 2.0]


async def test_a_closed_sessions_recogniser_returns_to_the_pool(pool):
    pool(2)
    stream = await SpeechStream.open("zz")
    await asettled()
    assert warm.count() == 1
    recogniser = stream.recognizer
    recogniser.feed(b"\0" * 32000 * 10)  # ten seconds of an interview
    await stream.close()
    key = (engines.current(), "counting", 16000)
    assert warm.count() == 2 and warm.take(key) is recogniser


async def test_a_recogniser_that_has_decoded_enough_is_recycled(pool, monkeypatch):
    """Its memory grows with every new word: past RT_STT_RECYCLE_AFTER_S it
    is closed when its stream ends and a new one is warmed in its place."""
    # Points drawn between 30 and 60 s; each recogniser has also decoded the
    # warm-up recording (6.4 s): 66 s is past any point, 16 s short of any.
    pool(2, stt_recycle_after_s=60.0, stt_recycle_jitter=0.5)
    trims = []
    monkeypatch.setattr(memory, "release_freed_memory", lambda: trims.append(1) or True)
    preload_default_model().join(5)
    await asettled()
    assert warm.count() == 2 and warm.warmed == 2
    recycled_before = REGISTRY.get_sample_value("rt_speech_recognisers_recycled_total")
    long, short = await SpeechStream.open("zz"), await SpeechStream.open("zz")
    long.recognizer.feed(b"\0" * 32000 * 60)  # past the limit
    short.recognizer.feed(b"\0" * 32000 * 10)
    spent, kept = long.recognizer, short.recognizer
    await long.close()
    await short.close()
    await asettled()
    assert spent.closed and not kept.closed
    assert warm.recycles == 1 and warm.warmed == 3  # one warmed in its place
    # Operators see it on /metrics (docs/deploy.md).
    assert REGISTRY.get_sample_value("rt_speech_recognisers_recycled_total") == recycled_before + 1
    # The freed memory given back to the system: the recycled one's, and the
    # kept one's utterance (each stream's end trims).
    assert trims == [1, 1]
    key = (engines.current(), "counting", 16000)
    assert warm.count() == 2 and warm.take(key) is kept


async def test_recycling_points_are_spread_so_recognisers_are_not_recycled_together(pool):
    """Recognisers warmed together and worked alike would all be recycled at
    the same moment (the server's memory falling and climbing back in one
    large saw): each draws its own point, 50-100% of RT_STT_RECYCLE_AFTER_S."""
    pool(0, stt_recycle_after_s=100.0, stt_recycle_jitter=0.5)
    recognisers = [CountingStream(16000) for _ in range(200)]
    for r in recognisers:
        r.fed_s = 75.0
    due = [warm.due_for_recycling(r) for r in recognisers]
    # About half are past their point at 75 s; the same answer when asked again.
    assert 60 < sum(due) < 140
    assert [warm.due_for_recycling(r) for r in recognisers] == due
    for r in recognisers:
        r.fed_s = 49.9
    assert not any(warm.due_for_recycling(r) for r in recognisers)
    for r in recognisers:
        r.fed_s = 100.1
    assert all(warm.due_for_recycling(r) for r in recognisers)


async def test_without_jitter_every_recogniser_is_recycled_at_the_setting(pool):
    pool(0, stt_recycle_after_s=100.0, stt_recycle_jitter=0.0)
    below, above = CountingStream(16000), CountingStream(16000)
    below.fed_s, above.fed_s = 99.9, 100.1
    assert not warm.due_for_recycling(below) and warm.due_for_recycling(above)
    pool(0, stt_recycle_after_s=0.0)  # 0: never
    assert not warm.due_for_recycling(above)


async def test_the_pool_count_never_exceeds_its_setting(pool):
    pool(3)
    streams = [await SpeechStream.open("zz") for _ in range(5)]
    await asettled()
    for stream in streams:
        await stream.close()
        assert warm.count() <= 3
    await asettled()
    assert warm.count() == 3


async def test_refills_stop_at_what_admission_could_use(pool):
    """Idle and open recognisers stay within the stream bound: with 2 of 3
    streams open, one warm spare is enough, whatever the pool's size."""
    pool(6, stt_max_streams=3)
    streams = [await SpeechStream.open("zz") for _ in range(2)]
    await asettled()
    assert warm.count() == 1
    for stream in streams:
        await stream.close()


async def test_a_size_of_zero_warms_nothing(pool):
    pool(0)
    stream = await SpeechStream.open("zz")
    await asettled()
    assert warm.count() == 0 and warm.warmed == 0
    await stream.close()


@pytest.mark.speech
async def test_a_vosk_recogniser_is_warmed_on_the_shipped_speech(settings):
    """The real engine: the pool's recogniser has decoded the recording and
    been reset (its clock restarts at 0 for the stream that takes it)."""
    warm.clear()
    settings.RT = replace(settings.RT, stt_warm_pool_size=1)
    registry.model_for("ko")
    engine = engines.current()
    assert isinstance(engine, VoskEngine)
    thread = preload_default_model()
    thread.join(10)
    await asettled()
    assert warm.count() == 1
    settings.RT = replace(settings.RT, stt_warm_pool_size=0)  # no refill behind it
    stream = await SpeechStream.open("ko")
    recogniser = stream.recognizer
    assert recogniser._fed_s >= len(warmup_pcm(16000)) / 2 / 16000 - 0.1
    assert recogniser._base_s == recogniser._fed_s  # reset: a new clock
    await stream.close()
    await asettled()
    warm.clear()
