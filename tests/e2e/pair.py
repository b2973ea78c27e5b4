"""Two daphne processes on one SQLite file and one Redis: process A and B,
each with its own log (tests that look at what each logged)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from tests.browser.server import LiveServer


def two_servers(tmp: Path, redis_url: str, **env: str) -> tuple[LiveServer, LiveServer]:
    (tmp / "a").mkdir()
    (tmp / "b").mkdir()
    a = LiveServer(tmp, tmp / "a")
    a.env.update({"REDIS_URL": redis_url, **env})
    a.prepare()
    b = LiveServer(tmp, tmp / "b")
    b.env = {**a.env, "RT_PUBLIC_BASE_URL": b.base}
    a.start()
    b.start()
    return a, b


def ws_base(server: LiveServer) -> str:
    return server.base.replace("http://", "ws://")


def join_token(session: dict) -> str:
    return session["join_url"].split("token=")[1]


async def events_until(ws, kind: str, wait: float = 30, count: int = 1) -> list[dict]:
    seen: list[dict] = []
    deadline = time.monotonic() + wait
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        seen.append(event)
        if event["type"] == kind:
            count -= 1
            if not count:
                return seen


async def drain(ws, within: float = 0.5) -> list[dict]:
    got = []
    while True:
        try:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), within)))
        except TimeoutError:
            return got


async def resumed_seqs(ws, after: int = 0) -> list[int]:
    """Every persisted event after `after`, replayed from the database."""
    await ws.send(json.dumps({"type": "resume", "after_seq": after}))
    await ws.send(json.dumps({"type": "ping"}))
    return [e["seq"] for e in await events_until(ws, "pong") if "seq" in e]
