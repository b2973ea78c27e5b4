"""Partial transcripts, coalesced: at most one per interval, never a repeat."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class PartialCoalescer:
    """At most one partial per `interval_s`, never the same text twice."""

    def __init__(self, interval_s: float, publish: Callable[[str, float], Awaitable[None]]) -> None:
        self.interval_s = interval_s
        self.publish = publish
        self.last_text = ""
        self.last_at = 0.0
        self.pending: tuple[str, float] | None = None
        self.timer: asyncio.Task | None = None

    async def offer(self, text: str, audio_s: float) -> None:
        """`audio_s`: the stream time the hypothesis covers (for lag measurements)."""
        if text == self.last_text:
            self.pending = None
            return
        self.pending = (text, audio_s)
        wait = self.last_at + self.interval_s - time.monotonic()
        if wait <= 0:
            await self._flush()
        elif self.timer is None or self.timer.done():
            self.timer = asyncio.create_task(self._flush_later(wait))

    async def _flush_later(self, wait: float) -> None:
        await asyncio.sleep(wait)
        await self._flush()

    async def _flush(self) -> None:
        if self.pending is None:
            return
        (text, audio_s), self.pending = self.pending, None
        self.last_text, self.last_at = text, time.monotonic()
        await self.publish(text, audio_s)

    def reset(self) -> None:
        """A final replaced the hypothesis: drop what is pending, start afresh."""
        self.pending = None
        self.last_text = ""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
