"""Partials are coalesced: at most one per interval per session, never a repeat."""

from __future__ import annotations

import asyncio
import time

from live.partials import PartialCoalescer


async def test_a_burst_of_hypotheses_is_thinned_to_the_interval_and_the_last_one_wins():
    sent: list[tuple[float, str]] = []

    async def publish(text: str, audio_s: float) -> None:
        sent.append((time.monotonic(), text))

    coalescer = PartialCoalescer(0.1, publish)
    start = time.monotonic()
    for i in range(50):  # 50 revisions in 0.5 s: five times the allowed rate
        await coalescer.offer(f"hypothesis {i}", i * 0.01)
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.15)
    elapsed = time.monotonic() - start
    assert len(sent) <= elapsed / 0.1 + 1
    gaps = [b - a for (a, _), (b, _) in zip(sent, sent[1:], strict=False)]
    assert all(gap >= 0.095 for gap in gaps), gaps
    assert sent[-1][1] == "hypothesis 49"  # the newest text is not lost


async def test_the_same_text_is_never_sent_twice_in_a_row():
    sent: list[str] = []

    async def publish(text: str, audio_s: float) -> None:
        sent.append(text)

    coalescer = PartialCoalescer(0.0, publish)
    for text in ["a", "a", "a b", "a b", "a b", "a b c"]:
        await coalescer.offer(text, 0.0)
    assert sent == ["a", "a b", "a b c"]
    coalescer.reset()  # a final replaced the hypothesis: the same words may show again
    await coalescer.offer("a b c", 0.0)
    assert sent[-1] == "a b c" and len(sent) == 4
