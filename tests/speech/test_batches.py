"""Batched decoding (speech/batches.py): which calls wait, for how long, and
that every caller gets its own result; plus the Voice frame a stream opened
with measure_voice sends, on the real model."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from speech import batches
from speech.frames import AudioChunk, Final, Partial, Voice
from speech.model_registry import registry
from speech.stream import SpeechStream
from tests.audio_fixtures import KOREAN_ANSWER, frames, silence, speak

WINDOW_S = 0.4


@pytest.fixture
def pool():
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="test-decoder") as executor:
        yield executor


def submit(group: batches.DecodeBatches, pool, key: int, call, *, urgent=False, window=WINDOW_S):
    return group.run(key, call, executor=pool, threads=2, window_s=window, urgent=urgent)


async def make_live(group, pool, *keys) -> None:
    """Each stream has sent a frame just now (so the others wait for it)."""
    await asyncio.gather(*(submit(group, pool, key, lambda: None, urgent=True) for key in keys))


async def test_a_stream_alone_never_waits(pool):
    group = batches.DecodeBatches(asyncio.get_running_loop())
    started = time.monotonic()
    assert await submit(group, pool, 1, lambda: "decoded", window=10.0) == "decoded"
    assert time.monotonic() - started < 1.0


async def test_a_frame_waits_for_the_other_live_streams_then_all_run_together(pool):
    group = batches.DecodeBatches(asyncio.get_running_loop())
    await make_live(group, pool, 1, 2, 3)
    ran: list[int] = []
    first = submit(group, pool, 1, lambda: ran.append(1) or "one", window=10.0)
    second = submit(group, pool, 2, lambda: ran.append(2) or "two", window=10.0)
    await asyncio.sleep(0.2)
    assert ran == [] and not first.done()  # stream 3 has not sent its frame yet
    third = submit(group, pool, 3, lambda: ran.append(3) or "three", window=10.0)
    assert await asyncio.wait_for(asyncio.gather(first, second, third), 2) == [
        "one",
        "two",
        "three",
    ]
    assert sorted(ran) == [1, 2, 3]


async def test_a_frame_waits_no_longer_than_the_window(pool):
    group = batches.DecodeBatches(asyncio.get_running_loop())
    await make_live(group, pool, 1, 2)
    started = time.monotonic()
    assert await submit(group, pool, 1, lambda: "late") == "late"  # stream 2 stays silent
    assert WINDOW_S * 0.9 <= time.monotonic() - started < WINDOW_S + 1.0


async def test_a_stream_silent_for_longer_than_live_s_is_not_waited_for(pool):
    group = batches.DecodeBatches(asyncio.get_running_loop())
    await make_live(group, pool, 1, 2)
    await asyncio.sleep(batches.LIVE_S + 0.1)
    started = time.monotonic()
    await submit(group, pool, 1, lambda: None, window=10.0)
    assert time.monotonic() - started < 1.0


async def test_urgent_calls_and_hurry_go_at_once_with_what_waits(pool):
    group = batches.DecodeBatches(asyncio.get_running_loop())
    await make_live(group, pool, 1, 2, 3)
    waiting = submit(group, pool, 1, lambda: "waited", window=10.0)
    await asyncio.sleep(0.1)
    assert not waiting.done()
    started = time.monotonic()
    assert await submit(group, pool, 2, lambda: "urgent", urgent=True, window=10.0) == "urgent"
    assert await waiting == "waited"  # taken along
    assert time.monotonic() - started < 1.0

    await make_live(group, pool, 1, 2, 3)
    waiting = submit(group, pool, 1, lambda: "hurried", window=10.0)
    group.hurry(2)  # stream 2 has nothing waiting: nothing happens
    await asyncio.sleep(0.1)
    assert not waiting.done()
    group.hurry(1)
    assert await asyncio.wait_for(waiting, 1.0) == "hurried"


async def test_a_turns_end_goes_ahead_of_the_batches_queued_for_the_pool():
    """The threads behind by a few batches: the end of a turn (its final, or
    its hurried last frame) runs before them, and the rest keep their order."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-decoder") as one:
        group = batches.DecodeBatches(asyncio.get_running_loop())
        busy, ran = threading.Event(), []

        def frame(key):
            return lambda: ran.append(key) or key

        def go(key, **how):
            return group.run(key, frame(key), executor=one, threads=1, window_s=10.0, **how)

        blocker = one.submit(busy.wait, 5)  # the thread is decoding something long
        queued = [go(1, urgent=True), go(2, urgent=True)]  # two batches queue behind it
        final = go(3, first=True)  # a turn's end
        waiting = go(4)  # a frame waiting for its batch ...
        group.hurry(4)  # ... hurried: its stream's turn ended
        busy.set()
        assert await asyncio.wait_for(asyncio.gather(*queued, final, waiting), 5) == [1, 2, 3, 4]
        assert ran == [3, 4, 1, 2]
        assert blocker.result() is True


async def test_a_batch_is_split_across_the_threads_and_errors_reach_their_caller(pool):
    group = batches.DecodeBatches(asyncio.get_running_loop())
    await make_live(group, pool, 1, 2, 3, 4)
    threads: dict[int, str] = {}
    both_groups_running = threading.Barrier(2)

    def call(key):
        def run():
            threads[key] = threading.current_thread().name
            if key in (1, 2):  # the first call of each group: they run at once
                both_groups_running.wait(timeout=5)
            if key == 3:
                raise ValueError("bad frame")
            return key

        return run

    results = await asyncio.gather(
        *(submit(group, pool, key, call(key), window=10.0) for key in (1, 2, 3, 4)),
        return_exceptions=True,
    )
    assert results[:2] == [1, 2] and results[3] == 4
    assert isinstance(results[2], ValueError)
    # Two groups, each run back to back in one thread: 1 then 3, 2 then 4.
    assert threads[1] == threads[3] and threads[2] == threads[4]
    assert threads[1] != threads[2]


def test_pace_tells_a_microphone_from_a_file_and_from_a_backlog():
    live = batches.Pace()
    assert all(live.in_step(i * 0.1, (i + 1) * 0.1) for i in range(3))  # first frames

    file_client = batches.Pace()  # 1 s of audio per call, as fast as answered
    steps = [file_client.in_step(float(i), float(i + 1)) for i in range(4)]
    assert steps[:2] == [True, True] and steps[3] is False

    behind = batches.Pace()  # 0.1 s of audio every 0.5 s: its frames are queued up
    steps = []
    for i in range(6):
        steps.append(behind.in_step(i * 0.1, (i + 1) * 0.1))
        time.sleep(0.5)
    assert steps[0] is True and steps[-1] is False

    paused = batches.Pace()  # a gap longer than GAP_S starts a new stretch
    paused.in_step(0.0, 0.1)
    time.sleep(batches.Pace.GAP_S + 0.1)
    assert paused.in_step(0.1, 0.2) is True


async def test_a_stream_measuring_voice_leads_every_result_with_its_voice():
    registry.model_for("ko")
    speech = speak(KOREAN_ANSWER)
    async with await SpeechStream.open("ko", measure_voice=True) as stream:
        quiet = [await stream.accept(AudioChunk(f, 16000)) for f in frames(silence(0.5))]
        loud = [await stream.accept(AudioChunk(f, 16000)) for f in frames(speech)]
    for results in quiet + loud:
        assert isinstance(results[0], Voice)
        assert all(isinstance(r, Partial | Final) for r in results[1:])
    assert sum(r[0].voiced_s for r in quiet) == 0.0
    # espeak's voice is voiced for most of its length
    assert sum(r[0].voiced_s for r in loud) > 0.5 * len(speech) / 2 / 16000
    assert any(len(r) > 1 for r in loud)  # the recogniser's results follow

    async with await SpeechStream.open("ko") as plain:
        results = [await plain.accept(AudioChunk(f, 16000)) for f in frames(speech)]
    assert not any(isinstance(r, Voice) for batch in results for r in batch)
