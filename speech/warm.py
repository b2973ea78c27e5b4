"""Warm recognisers: the reset recognisers of closed streams, kept for the next ones.

A recogniser that has decoded speech is several times faster than a new one
(Vosk builds its composed decoding graph lazily and caches it inside the
recogniser), so a new interview starts on a warm one when there is one. A
closed stream's recogniser is `reset()` (RecognizerStream: its clock restarts
at 0, so word times are in the new stream's own time) and kept here under its
key: the engine, the model and the rate. Only plain streams (StreamOptions
defaults) are kept: one opened with a grammar or alternatives is closed with
its stream, so it never serves a plain stream (speech/stream.py).

Memory stays bounded: a recogniser is either in an open stream or idle here,
so there are never more than the most streams ever open at once (at most
settings.RT.stt_max_streams).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Hashable
from concurrent.futures import Future

from .interface import RecognizerStream

# Longest a new stream waits for a closing stream's warm recogniser (the
# flush is one FinalResult, queued behind at most a frame per stream).
RETIRE_WAIT_S = 1.0


class WarmRecognizers:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[Hashable, list[RecognizerStream]] = {}
        # Recognisers of closed streams on their way back (reset in the pool).
        self._retiring: set[Future] = set()

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

    def take(self, key: Hashable) -> RecognizerStream | None:
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def give(self, key: Hashable, recognizer: RecognizerStream, limit: int) -> bool:
        """Keep a reset recogniser for the next stream under `key`, unless
        `limit` are idle already. True if kept (else the caller closes it)."""
        with self._lock:
            if self.count() >= limit:
                return False
            self._idle.setdefault(key, []).append(recognizer)
            return True

    def count(self) -> int:
        return sum(len(v) for v in self._idle.values())

    def clear(self) -> None:
        with self._lock:
            self._idle.clear()


warm = WarmRecognizers()
