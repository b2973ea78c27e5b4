"""Observers on a second daphne process, over channels-redis: every observer
gets every event of the interview once, in seq order."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.conftest import require_service
from tests.e2e.pair import two_servers
from tests.wsclient import drain, events_until, join_token, replayed_seqs, ws_base

from .test_tcp import redis_up

# Not marked channel_layer: it always uses Redis (below), so the PostgreSQL/Redis
# pass would only run it a second time.
pytestmark = [pytest.mark.e2e, pytest.mark.redis]
REDIS_URL = "redis://127.0.0.1:6379/8"
OBSERVERS = 24


async def interview_watched(a, b, session: dict, staff: str) -> tuple[list[int], list[list[dict]]]:
    sid = session["session_id"]
    observe = f"{ws_base(b)}/ws/observe/{sid}/?token={staff}"
    async with websockets.connect(observe, origin=b.base) as early:
        before = await replayed_seqs(early)  # the session's creation
    observers = [await websockets.connect(observe, origin=b.base) for _ in range(OBSERVERS)]
    try:
        async with websockets.connect(
            f"{ws_base(a)}/ws/interview/{sid}/?token={join_token(session)}", origin=a.base
        ) as candidate:
            await candidate.send(json.dumps({"type": "interview.start"}))
            await events_until(candidate, "ai.message")
            for answer in ("I write Python services.", "I like hard problems."):
                await candidate.send(json.dumps({"type": "answer.text", "text": answer}))
                await events_until(candidate, "ai.message")
        received = await asyncio.gather(*(drain(o, within=1.0) for o in observers))
        async with websockets.connect(observe, origin=b.base) as late:
            expected = await replayed_seqs(late, after_seq=max(before, default=0))
        return expected, received
    finally:
        for observer in observers:
            await observer.close()


def test_observers_on_another_process_get_every_event_once_in_order(tmp_path):
    require_service(redis_up(), "Redis is not reachable on 127.0.0.1:6379")
    a, b = two_servers(tmp_path, REDIS_URL)
    try:
        session = a.create_session(
            "Fan-out", ["Tell me about yourself", "Why us?", "Anything else?"]
        )
        expected, received = asyncio.run(interview_watched(a, b, session, b.login_token()))
        assert len(expected) >= 8
        for got in received:
            assert [e["seq"] for e in got if "seq" in e] == expected
            assert any(e["type"] == "ai.delta" for e in got)
    finally:
        a.stop()
        b.stop()
