"""The interview end to end over TCP: real daphne processes, a `websockets`
client, and (for two processes) channels-redis on the local Redis."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import pytest
import websockets

from tests.audio_fixtures import KOREAN_ANSWER, frames, silence, speak
from tests.browser.server import LiveServer
from tests.conftest import require_service
from tests.wsclient import events_until, persisted

pytestmark = [pytest.mark.e2e, pytest.mark.speech]
REDIS_URL = "redis://127.0.0.1:6379/7"


def redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


def servers(tmp: Path, count: int, redis: str = "") -> list[LiveServer]:
    first = LiveServer(tmp, tmp)
    first.env["REDIS_URL"] = redis
    first.prepare()
    group = [first]
    for _ in range(count - 1):
        other = LiveServer(tmp, tmp)
        other.env = {**first.env, "RT_PUBLIC_BASE_URL": other.base}
        other.token = ""
        group.append(other)
    for server in group:
        server.start()
    return group


async def spoken_turn(candidate_url: str, observer_url: str, origin: str, observer_origin: str):
    async with (
        websockets.connect(observer_url, origin=observer_origin) as observer,
        websockets.connect(candidate_url, origin=origin) as candidate,
    ):
        # The observer's own join comes first; then the candidate's, across processes too.
        presence = (await events_until(observer, "presence", count=2))[-1]
        assert presence["candidate"] is True and presence["observers"] == 1
        await candidate.send(json.dumps({"type": "audio.config", "sample_rate": 16000}))
        await candidate.send(json.dumps({"type": "interview.start"}))
        greeting = await events_until(candidate, "ai.message")
        pcm = silence(0.3) + speak(KOREAN_ANSWER) + silence(0.3)
        start = time.monotonic()
        for i, frame in enumerate(frames(pcm)):
            await asyncio.sleep(max(0.0, start + i * 0.1 - time.monotonic()))
            await candidate.send(frame)
        await candidate.send(json.dumps({"type": "turn.end"}))
        turn = await events_until(candidate, "ai.message")
        mine = persisted(greeting + turn)
        kinds = [t for _, t in mine]
        assert "transcript.final" in kinds and "turn.committed" in kinds
        assert kinds.count("ai.message") == 2
        assert any(e["type"] == "transcript.partial" for e in turn)
        watched = await events_until(observer, "ai.message", count=2)
        assert [p for p in persisted(watched) if p[0] >= mine[0][0]][: len(mine)] == mine
        return [e for e in turn if e["type"] == "turn.committed"][0]["text"]


def test_one_daphne_process(tmp_path):
    (server,) = servers(tmp_path, 1)
    try:
        session = server.create_session("TCP interview", ["Tell me about yourself", "Why us?"])
        ws = server.base.replace("http://", "ws://")
        text = asyncio.run(
            spoken_turn(
                f"{ws}/ws/interview/{session['session_id']}/?token={_token(session)}",
                f"{ws}/ws/observe/{session['session_id']}/?token={server.login_token()}",
                server.base,
                server.base,
            )
        )
        assert text
    finally:
        server.stop()


# Not marked channel_layer: it always runs its servers on Redis, so the
# PostgreSQL/Redis pass would only run it a second time.
def test_two_daphne_processes_share_events_through_redis(tmp_path):
    require_service(redis_up(), "Redis is not reachable on 127.0.0.1:6379")
    a, b = servers(tmp_path, 2, redis=REDIS_URL)
    try:
        session = a.create_session("Two processes", ["Tell me about yourself", "Why us?"])
        text = asyncio.run(
            spoken_turn(
                f"{a.base.replace('http', 'ws')}/ws/interview/{session['session_id']}/?token={_token(session)}",
                f"{b.base.replace('http', 'ws')}/ws/observe/{session['session_id']}/?token={b.login_token()}",
                a.base,
                b.base,
            )
        )
        assert text
    finally:
        a.stop()
        b.stop()


def _token(session: dict) -> str:
    return session["join_url"].split("token=")[1]
