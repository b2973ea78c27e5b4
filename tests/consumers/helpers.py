"""Driving the WebSocket endpoints in-process with WebsocketCommunicator."""

from __future__ import annotations

import asyncio
import json

from channels.testing import WebsocketCommunicator

from interview_rt.asgi import application

ORIGIN = [(b"origin", b"http://testserver")]


def cand(session) -> str:
    """The candidate's socket path, with the session's join token."""
    return f"/ws/interview/{session.session_id}/?token={session.join_token}"


def obs(session, token: str) -> str:
    """An observer's socket path for the session."""
    return f"/ws/observe/{session.session_id}/?token={token}"


async def connect(path: str, *, origin: bool = True) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(application, path, headers=ORIGIN if origin else [])
    connected, _ = await comm.connect(timeout=5)
    assert connected, f"handshake refused for {path}"
    return comm


async def close_code(path: str, **kwargs) -> int:
    comm = await connect(path, **kwargs)
    message = await comm.receive_output(timeout=5)
    await comm.wait()
    assert message["type"] == "websocket.close", message
    return message["code"]


async def next_event(comm: WebsocketCommunicator, wait: float = 5) -> dict:
    return json.loads(await comm.receive_from(timeout=wait))


async def events_until(comm, last_type: str, wait: float = 10, count: int = 1) -> list[dict]:
    """Every event up to and including the `count`-th of type `last_type`."""
    seen: list[dict] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        remaining = deadline - loop.time()
        assert remaining > 0, f"no {last_type!r} within {wait}s; got {[e['type'] for e in seen]}"
        event = await next_event(comm, remaining)
        seen.append(event)
        if event["type"] == last_type:
            count -= 1
            if count == 0:
                return seen


async def no_event(comm, within: float = 0.3) -> bool:
    return await comm.receive_nothing(timeout=within)


def persisted(events: list[dict]) -> list[tuple[int, str]]:
    return [(e["seq"], e["type"]) for e in events if "seq" in e]


async def drain(comm, within: float = 0.3) -> list[dict]:
    """Everything that arrives until `within` seconds pass quietly."""
    got = []
    while not await comm.receive_nothing(timeout=within):
        got.append(await next_event(comm))
    return got


async def started(session) -> WebsocketCommunicator:
    """The candidate's socket, audio configured (16 kHz), past the AI's greeting."""
    comm = await connect(cand(session))
    await comm.send_json_to({"type": "audio.config", "sample_rate": 16000})
    await comm.send_json_to({"type": "interview.start"})
    await events_until(comm, "ai.message")
    return comm
