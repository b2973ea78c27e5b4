"""Hostile frames against a real server process (the project's server command,
`python -m interview_rt.serve`, over TCP, with the `websockets` client): each
gets an `error` event and the socket stays open, or a close code that
docs/protocol.md lists. None ends the connection without a close frame (1006),
as plain daphne did for a text frame that is not UTF-8 and for a message over
its 1 MiB limit."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
import websockets

from tests.browser.server import ROOT, LiveServer

pytestmark = [pytest.mark.e2e]

MIB = 1024 * 1024
PROTOCOL_DOC = ROOT / "docs" / "protocol.md"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("frames")
    live = LiveServer(tmp, tmp)
    live.prepare()
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def candidate_url(server) -> str:
    session = server.create_session("Hostile frames", ["Tell me about yourself"])
    token = session["join_url"].split("token=")[1]
    return (
        f"{server.base.replace('http', 'ws')}/ws/interview/{session['session_id']}/?token={token}"
    )


def documented_close_codes() -> set[int]:
    section = PROTOCOL_DOC.read_text().split("### Close codes", 1)[1].split("\n## ", 1)[0]
    return {int(code) for code in re.findall(r"^\| (\d{4}) \|", section, re.M)}


async def next_event(ws, wait: float = 10) -> dict:
    """The next event that is not presence."""
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), wait))
        if event["type"] != "presence":
            return event


async def outcome(url: str, origin: str, frame: str | bytes, *, as_text: bool = False):
    """("error", code) and the socket still answers ping, or ("close", code)."""
    async with websockets.connect(url, origin=origin, max_size=None) as ws:
        await ws.send(json.dumps({"type": "ping"}))
        assert (await next_event(ws))["type"] == "pong"  # the socket is live
        try:
            await ws.send(frame, text=True) if as_text else await ws.send(frame)
            event = await next_event(ws)
            assert event["type"] == "error", event
            await ws.send(json.dumps({"type": "ping"}))
            assert (await next_event(ws))["type"] == "pong"
            return ("error", event["code"])
        except websockets.ConnectionClosed as closed:
            return ("close", closed.rcvd.code if closed.rcvd else 1006)


HOSTILE = [
    # (name, frame, sent as a text frame even if bytes, what the client must get)
    ("text frame that is not UTF-8", b'{"type": "ping\xff\xfe"}', True, ("close", 1007)),
    ("text frame over the server's 1 MiB limit", "x" * (MIB + 10), False, ("close", 1009)),
    ("binary frame over the server's 1 MiB limit", b"\x00" * (2 * MIB), False, ("close", 1009)),
    (
        "text frame over our limit, under 1 MiB",
        "x" * (200 * 1024),
        False,
        ("error", "frame_too_large"),
    ),
    (
        "binary frame over our limit, under 1 MiB",
        b"\x00" * (512 * 1024),
        False,
        ("error", "frame_too_large"),
    ),
    ("odd-length binary frame", b"\x00\x01\x02", False, ("error", "bad_audio")),
    ("JSON array", "[1, 2, 3]", False, ("error", "bad_json")),
    ("not JSON", "hello", False, ("error", "bad_json")),
    ("empty text frame", "", False, ("error", "bad_json")),
    ("deeply nested JSON", "[" * 30_000 + "]" * 30_000, False, ("error", "bad_json")),
    (
        "integer of 5000 digits",
        '{"type": "resume", "after_seq": ' + "9" * 5000 + "}",
        False,
        ("error", "bad_json"),
    ),
    (
        "integer past 64 bits",
        '{"type": "resume", "after_seq": 18446744073709551616}',
        False,
        ("error", "bad_field"),
    ),
    ("NaN", '{"type": "resume", "after_seq": NaN}', False, ("error", "bad_field")),
    (
        "Infinity",
        '{"type": "audio.config", "sample_rate": Infinity}',
        False,
        ("error", "bad_field"),
    ),
    ("lone surrogate", '{"type": "answer.text", "text": "\\udc00"}', False, ("error", "bad_field")),
    ("unknown type", '{"type": "\\u0000"}', False, ("error", "unknown_type")),
]


@pytest.mark.parametrize(
    ("frame", "as_text", "expected"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_a_hostile_frame_gets_an_error_or_a_documented_close_code(
    server, candidate_url, frame, as_text, expected
):
    got = asyncio.run(outcome(candidate_url, server.base, frame, as_text=as_text))
    assert got == expected
    if got[0] == "close":
        assert got[1] in documented_close_codes()


def test_the_server_still_serves_after_every_hostile_frame(server, candidate_url):
    async def ping() -> str:
        async with websockets.connect(candidate_url, origin=server.base) as ws:
            await ws.send(json.dumps({"type": "ping"}))
            return (await next_event(ws))["type"]

    for _, frame, as_text, _ in HOSTILE:
        asyncio.run(outcome(candidate_url, server.base, frame, as_text=as_text))
    assert asyncio.run(ping()) == "pong"
    assert server.proc.poll() is None


def test_frames_crossing_the_asr_close_change_nothing(server):
    """vosk-server clients may send on after `eof`: the final result and a
    clean close still come, whatever follows."""

    async def exchange():
        url = f"{server.base.replace('http', 'ws')}/ws/asr/?token={server.login_token()}"
        async with websockets.connect(url) as ws:
            await ws.send('{"eof" : 1}')
            await ws.send(b"\x00" * 3200)
            await ws.send('{"config": {"sample_rate": 16000}}')
            final = json.loads(await asyncio.wait_for(ws.recv(), 10))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            return final, closed.value.rcvd.code

    assert asyncio.run(exchange()) == ({"text": ""}, 1000)


@pytest.mark.parametrize("path", ["bin/serve", "Dockerfile"])
def test_the_serving_commands_use_the_closing_server(path):
    """Plain `daphne` drops the connection on a bad frame (1006)."""
    text = Path(ROOT, path).read_text()
    assert "-m interview_rt.serve" in text
    assert "exec daphne" not in text and '/daphne"' not in text
