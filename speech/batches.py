"""Decode calls of live streams, gathered and run back to back.

Why: a live stream sends 100 ms of audio every 100 ms, so between frames the
decoder threads sleep and the cores go idle. A call that wakes an idle core
finds the model's weights gone from its caches. Measured on this project's
2-core machine (docs/speech.md, "Batched decoding"), raw Vosk fed four streams'
frames each at its own time decoded 11% less audio per CPU second than the
same frames fed back to back, and small calls (the voice check) cost ten
times their warm price.

So a live stream's call waits up to a window (settings.RT.stt_batch_window_s)
for the other live streams' calls, and then they run together, split across
the pool's threads. It waits no longer than until every live stream has a
call waiting: one stream alone never waits. Urgent calls (the end of a turn,
a stream that is behind or ahead of real time) go at once, taking whatever
is waiting with them.

The calls a candidate is waiting on (a turn's end: its last frames and the
final) also go first: ahead of the batches already queued for the pool's
threads. Near saturation the threads fall behind by a few batches, and
without this the end of a turn waited behind all of them. Each stream has
at most one call in the pool at a time, so no stream's calls are reordered.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

# A stream with no call for this long is no longer waited for.
LIVE_S = 0.5


class DecodeBatches:
    """One per event loop: calls gathered on that loop, run in `executor`."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pending: list[tuple[Callable[[], Any], asyncio.Future]] = []
        self.waiting: set[int] = set()  # keys of the streams with a call in `pending`
        self.seen: dict[int, float] = {}  # stream key -> loop time of its last call
        self.timer: asyncio.TimerHandle | None = None
        self.executor: Executor | None = None
        self.threads = 1
        # Groups waiting for a pool thread: each pool task runs the next one,
        # those a candidate waits on first (deque appends and pops are atomic).
        self.queued_first: deque[list[tuple[Callable[[], Any], asyncio.Future]]] = deque()
        self.queued: deque[list[tuple[Callable[[], Any], asyncio.Future]]] = deque()

    def run(
        self,
        key: int,
        call: Callable[[], Any],
        *,
        executor: Executor,
        threads: int,
        window_s: float,
        urgent: bool = False,
        first: bool = False,
    ) -> asyncio.Future:
        """Queue `call` for stream `key`; the future resolves with its result.
        `first`: a candidate waits on it (a turn's end): urgent, and ahead of
        the groups queued for the pool."""
        self.executor, self.threads = executor, max(1, threads)
        future = self.loop.create_future()
        self.pending.append((call, future))
        self.waiting.add(key)
        now = self.loop.time()
        self.seen[key] = now
        if first or urgent or window_s <= 0 or self._everyone_waiting(now):
            self.dispatch(first=first)
        elif self.timer is None:
            self.timer = self.loop.call_at(now + window_s, self.dispatch)
        return future

    def hurry(self, key: int) -> None:
        """Stream `key` needs its results now (its turn ended): run what
        waits, ahead of the queued groups."""
        if key in self.waiting:
            self.dispatch(first=True)

    def _everyone_waiting(self, now: float) -> bool:
        for key, at in list(self.seen.items()):
            if now - at > LIVE_S:
                del self.seen[key]
        return self.waiting >= self.seen.keys()

    def dispatch(self, first: bool = False) -> None:
        """Run everything waiting now, split into one group per thread."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        calls, self.pending = self.pending, []
        self.waiting.clear()
        groups = min(self.threads, len(calls))
        queue = self.queued_first if first else self.queued
        for index in range(groups):
            queue.append(calls[index::groups])
            self.executor.submit(self._run_next)

    def _run_next(self) -> None:
        """In a pool thread: the next queued group, those marked first before
        the rest (one group was queued per task submitted, so one is there)."""
        try:
            group = self.queued_first.popleft()
        except IndexError:
            group = self.queued.popleft()
        self._run_group(group)

    def _run_group(self, calls: list[tuple[Callable[[], Any], asyncio.Future]]) -> None:
        """In a pool thread: the calls back to back, then one wake-up of the loop."""
        outcomes = []
        for call, future in calls:
            try:
                outcomes.append((future, call(), None))
            except BaseException as exc:  # handed to the awaiting coroutine
                outcomes.append((future, None, exc))
        # RuntimeError: the loop has closed, nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(_settle, outcomes)


def _settle(outcomes: list[tuple[asyncio.Future, Any, BaseException | None]]) -> None:
    for future, result, exc in outcomes:
        if future.cancelled():
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, DecodeBatches] = (
    weakref.WeakKeyDictionary()
)


def for_running_loop() -> DecodeBatches:
    loop = asyncio.get_running_loop()
    batches = _by_loop.get(loop)
    if batches is None:
        batches = _by_loop[loop] = DecodeBatches(loop)
    return batches


class Pace:
    """Is a stream in step with real time? Only such streams' calls wait.

    A stream behind real time (its frames queued up while the server was
    slow) must catch up, and one ahead of it (a client sending a file as fast
    as it is answered) is not a microphone: their calls go at once. A gap of
    more than GAP_S between calls (a muted microphone, a paused client)
    starts a new stretch, measured afresh.
    """

    GAP_S = 1.0
    OFF_BEAT_S = 1.0  # ahead or behind by more than this: not in step

    def __init__(self) -> None:
        self.wall0: float | None = None
        self.audio0 = 0.0
        self.last_call = 0.0

    def in_step(self, audio_start_s: float, audio_end_s: float) -> bool:
        """A call with the chunk from `audio_start_s` to `audio_end_s` (stream time)."""
        now = time.monotonic()
        if self.wall0 is None or now - self.last_call > self.GAP_S:
            # The chunk arrived when it was complete: its end is now.
            self.wall0, self.audio0 = now, audio_end_s
        self.last_call = now
        drift = (audio_end_s - self.audio0) - (now - self.wall0)
        return abs(drift) <= self.OFF_BEAT_S
