"""Warm recognisers: the reset recognisers of closed streams, kept for the next ones.

A recogniser that has decoded speech is several times faster than a new one
(Vosk builds its composed decoding graph lazily and caches it inside the
recogniser), so a new interview starts on a warm one when there is one. A
closed stream's recogniser is `reset()` (RecognizerStream: its clock restarts
at 0, so word times are in the new stream's own time) and kept here under its
key: the engine, the model and the rate. Only plain streams (StreamOptions
defaults) are kept: one opened with a grammar or alternatives is closed with
its stream, so it never serves a plain stream (speech/stream.py).

The pool is also filled ahead of need (`refill`): at start-up, and each time
a stream takes a recogniser, new ones are warmed in the "stt" pool by
decoding a short recording shipped with the project (speech/data/, see its
README), one 100 ms piece per pool task, so live streams' decoding goes
between the pieces. Every interview then starts on a warm recogniser, not
only those that follow a closed one.

Memory stays bounded: the idle ones never exceed settings.RT.stt_warm_pool_size
(`give` keeps the most practised and hands the others back to be closed), and
a refill stops when the idle and open recognisers together reach the pool's
size or what admission could ever need, whichever is less (speech/stream.py):
a recogniser lent to a stream still counts, so one coming back finds room
rather than a newly warmed one in its place. A recogniser's own memory grows
with every new word it decodes (Vosk caches the decoding graph it composes:
about 0.2 MB per 5 s answer after its first minute, without end in sight), so
one that has decoded RT_STT_RECYCLE_AFTER_S of audio (less a random part of
up to RT_STT_RECYCLE_JITTER of it, drawn per recogniser, so they are not all
recycled at once) is closed when its stream ends and a new one is warmed in
its place.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import threading
import wave
import weakref
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, Future
from pathlib import Path

from django.conf import settings

from interview_rt import metrics

from . import audio
from .interface import PLAIN, Recognizer, RecognizerStream

log = logging.getLogger(__name__)

# espeak-ng Korean, 16 kHz mono s16 (how it was made: speech/data/README.md).
WARMUP_RECORDING = Path(__file__).resolve().parent / "data" / "warmup-ko.wav"
WARMUP_PIECE_S = 0.1  # one piece per pool task, the live streams' frame size

# Longest a new stream waits for a closing stream's warm recogniser (the
# flush is one FinalResult, queued behind at most a frame per stream).
RETIRE_WAIT_S = 1.0


class WarmRecognizers:
    def __init__(self) -> None:
        # Re-entrant: refill() asks size() under it, and size() asks lent().
        self._lock = threading.RLock()
        self._idle: dict[Hashable, list[RecognizerStream]] = {}
        # Recognisers of closed streams on their way back (reset in the pool).
        self._retiring: set[Future] = set()
        self._refilling: set[Hashable] = set()  # keys with a refill under way
        # Recognisers at work in open plain streams: they come back to the pool
        # when their streams close (or are gone with a stream never closed).
        self._lent: weakref.WeakSet[RecognizerStream] = weakref.WeakSet()
        # Each recogniser's own recycling point (due_for_recycling).
        self._recycle_at: weakref.WeakKeyDictionary[RecognizerStream, float] = (
            weakref.WeakKeyDictionary()
        )
        self.warmed = 0  # recognisers warmed by refills (for tests and logs)
        self.recycles = 0  # recognisers closed for having decoded enough

    def returning(self, flush: Future) -> None:
        """`flush` (in the pool) will give a closed stream's recogniser back."""
        self._retiring.add(flush)
        flush.add_done_callback(self._retiring.discard)

    async def take_or_wait(self, key: Hashable) -> RecognizerStream | None:
        """An idle recogniser for `key`; if none, but a closed stream's is on
        its way back (a client that reconnects per utterance), wait for it
        briefly rather than build a cold one, which is slower and adds one to
        memory."""
        reused = self.take(key)
        if reused is None and self._retiring:
            pending = [asyncio.wrap_future(f) for f in list(self._retiring)]
            await asyncio.wait(pending, timeout=RETIRE_WAIT_S, return_when=asyncio.FIRST_COMPLETED)
            reused = self.take(key)
        return reused

    def lend(self, recognizer: RecognizerStream) -> None:
        """`recognizer` serves an open plain stream and will be given back."""
        with self._lock:
            self._lent.add(recognizer)

    def recycled(self, recognizer: RecognizerStream) -> None:
        """`recognizer`, lent, is being closed for good (RT_STT_RECYCLE_AFTER_S):
        it no longer counts, so a refill warms one in its place."""
        with self._lock:
            self._lent.discard(recognizer)
            self.recycles += 1
        metrics.recogniser_recycled()

    def due_for_recycling(self, recognizer: RecognizerStream) -> bool:
        """Has `recognizer` decoded past its recycling point? Each recogniser's
        point is drawn once, between (1 - RT_STT_RECYCLE_JITTER) and 1 times
        RT_STT_RECYCLE_AFTER_S, so recognisers warmed together are not all
        recycled together (their memory would fall and climb back in one
        large saw); 0 never recycles."""
        rt = settings.RT
        if rt.stt_recycle_after_s <= 0:
            return False
        with self._lock:
            point = self._recycle_at.get(recognizer)
            if point is None:
                point = rt.stt_recycle_after_s * (1.0 - rt.stt_recycle_jitter * random.random())
                self._recycle_at[recognizer] = point
        return recognizer.decoded_s > point

    def lent(self) -> int:
        with self._lock:
            return len(self._lent)

    def count_for(self, key: Hashable) -> int:
        with self._lock:
            return len(self._idle.get(key, ()))

    def take(self, key: Hashable) -> RecognizerStream | None:
        """The most practised idle recogniser for `key` (decoded_s), or None."""
        with self._lock:
            idle = self._idle.get(key)
            if not idle:
                return None
            best = max(range(len(idle)), key=lambda i: idle[i].decoded_s)
            return idle.pop(best)

    def give(
        self, key: Hashable, recognizer: RecognizerStream, limit: int
    ) -> RecognizerStream | None:
        """Keep a reset recogniser for the next stream under `key`. With
        `limit` idle already, the least practised of them and `recognizer` is
        not kept: it is returned for the caller to close (a recogniser that
        has decoded more decodes new speech faster). None when nothing is
        left over."""
        with self._lock:
            self._lent.discard(recognizer)
            if self.count() < limit:
                self._idle.setdefault(key, []).append(recognizer)
                return None
            idle = self._idle.get(key)
            if not idle:
                return recognizer
            least = min(range(len(idle)), key=lambda i: idle[i].decoded_s)
            if idle[least].decoded_s >= recognizer.decoded_s:
                return recognizer
            evicted = idle[least]
            idle[least] = recognizer
            return evicted

    def count(self) -> int:
        return sum(len(v) for v in self._idle.values())

    def refilling(self, key: Hashable | None = None) -> bool:
        """Whether a refill for `key` (None: any) is under way."""
        return bool(self._refilling) if key is None else key in self._refilling

    def refill(
        self,
        key: Hashable,
        engine: Recognizer,
        model: Hashable,
        rate: int,
        *,
        executor: Executor,
        size: Callable[[], int],
    ) -> bool:
        """Warm new recognisers for `key` in `executor` while fewer than
        `size()` are idle (asked again after each one), one at a time. False
        if a refill for `key` is under way already or none is wanted."""
        with self._lock:
            if key in self._refilling or len(self._idle.get(key, ())) >= size():
                return False
            self._refilling.add(key)
        _Refill(self, key, engine, model, rate, executor, size).start()
        return True

    def _refilled(self, key: Hashable) -> None:
        with self._lock:
            self._refilling.discard(key)

    def clear(self) -> None:
        with self._lock:
            self._idle.clear()
            self._lent.clear()
            self.warmed = 0
            self.recycles = 0


class _Refill:
    """One refill: a chain of short pool tasks (open, a piece of the recording
    each, finish and reset), each submitting the next when it is done."""

    def __init__(self, store, key, engine, model, rate, executor, size) -> None:
        self.store, self.key, self.executor, self.size = store, key, executor, size
        self.engine, self.model, self.rate = engine, model, rate
        self.pieces: list[bytes] = []
        self.recognizer: RecognizerStream | None = None

    def start(self) -> None:
        self._next(self._open)

    def _next(self, step: Callable[[], Callable | None]) -> None:
        try:
            future = self.executor.submit(step)
        except RuntimeError:  # the pool is shut down: the server is stopping
            self.store._refilled(self.key)
            return
        future.add_done_callback(self._after)

    def _after(self, future: Future) -> None:
        exc = future.exception()
        if exc is not None:
            log.warning("warming a recogniser failed: %s", exc)
            self.store._refilled(self.key)
            return
        step = future.result()
        if step is None:
            self.store._refilled(self.key)
        else:
            self._next(step)

    def _open(self) -> Callable | None:
        if self.store.count_for(self.key) >= self.size():
            return None
        self.recognizer = self.engine.open(self.model, self.rate, PLAIN)
        piece = max(2, int(self.rate * WARMUP_PIECE_S) * 2)
        pcm = warmup_pcm(self.rate)
        self.pieces = [pcm[i : i + piece] for i in range(0, len(pcm), piece)]
        self.pieces.reverse()  # popped from the end
        return self._feed

    def _feed(self) -> Callable | None:
        self.recognizer.feed(self.pieces.pop())
        return self._feed if self.pieces else self._keep

    def _keep(self) -> Callable | None:
        recognizer, self.recognizer = self.recognizer, None
        recognizer.finish()
        recognizer.reset()
        left_over = self.store.give(self.key, recognizer, self.size())
        if left_over is not None:  # full meanwhile: stop warming
            left_over.close()
            if left_over is recognizer:
                return None
        self.store.warmed += 1
        return self._open


@functools.cache
def warmup_pcm(rate: int) -> bytes:
    """The warm-up recording as s16le PCM at `rate`."""
    with wave.open(str(WARMUP_RECORDING), "rb") as recording:
        source_rate = recording.getframerate()
        pcm = recording.readframes(recording.getnframes())
    return audio.resample(pcm, source_rate, rate)


warm = WarmRecognizers()
