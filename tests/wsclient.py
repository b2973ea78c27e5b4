"""Real WebSocket clients as tests drive them against a running server (tests/e2e,
tests/faults): the join link's socket, events read until a kind arrives,
what is left to read, and the replay a `resume` brings back."""

from __future__ import annotations

import asyncio
import json
import time

import websockets

from tests.browser.server import LiveServer


def ws_base(server: LiveServer) -> str:
    return server.base.replace("http://", "ws://")


def join_token(session: dict) -> str:
    return session["join_url"].split("token=")[1]


def candidate_url(server: LiveServer, session: dict) -> str:
    return f"{ws_base(server)}/ws/interview/{session['session_id']}/?token={join_token(session)}"


def connect(server: LiveServer, session: dict):
    return websockets.connect(candidate_url(server, session), origin=server.base)


async def events_until(ws, kind: str, wait: float = 30, count: int = 1) -> list[dict]:
    """Every event up to and including the `count`-th of `kind`."""
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
    """Every event that arrives until none has for `within` seconds."""
    got = []
    while True:
        try:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), within)))
        except TimeoutError:
            return got


async def send(ws, type_: str, **fields) -> None:
    await ws.send(json.dumps({"type": type_, **fields}))


async def replay(ws, after_seq: int = 0) -> list[dict]:
    """The persisted events after `after_seq`: the server answers a `ping` sent
    after the `resume` only once the whole replay has gone out."""
    await send(ws, "resume", after_seq=after_seq)
    await send(ws, "ping")
    return [e for e in await events_until(ws, "pong") if "seq" in e]


async def replayed_seqs(ws, after_seq: int = 0) -> list[int]:
    return [e["seq"] for e in await replay(ws, after_seq)]


async def answer(ws, text: str) -> list[dict]:
    """A typed answer and everything up to the interviewer's reply to it."""
    await send(ws, "answer.text", text=text)
    return await events_until(ws, "ai.message")


def persisted(events: list[dict]) -> list[tuple[int, str]]:
    return [(e["seq"], e["type"]) for e in events if "seq" in e]
