"""Redis killed and restarted in the middle of an interview, with the
candidate on one daphne process and an observer on another
(docs/reliability.md, "Redis outage")."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import websockets

from tests.browser.server import free_port
from tests.conftest import require_service
from tests.e2e.pair import two_servers
from tests.wsclient import events_until, join_token, replayed_seqs, ws_base

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DOWN = "Redis unreachable"
BACK = "Redis reachable again"


class PrivateRedis:
    """A redis-server of this test's own, on a spare port, that keeps nothing on disk."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            ).stdout.strip()
            != "PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(5)


def log_lines(server, text: str) -> int:
    return server.log_path.read_text(errors="replace").count(text)


def wait_for_log(servers, text: str, wait: float = 20) -> None:
    deadline = time.monotonic() + wait
    while not all(log_lines(s, text) for s in servers):
        assert time.monotonic() < deadline, f"no {text!r} in every server's log"
        time.sleep(0.1)


async def ask(candidate, text: str) -> list[dict]:
    await candidate.send(json.dumps({"type": "answer.text", "text": text}))
    return await events_until(candidate, "ai.message")


def test_interview_goes_on_through_a_redis_restart(tmp_path):
    require_service(
        bool(shutil.which("redis-server") and shutil.which("redis-cli")),
        "redis-server is not installed",
    )
    redis = PrivateRedis(tmp_path)
    redis.start()
    a, b = two_servers(tmp_path, redis.url, RT_CHANNEL_LAYER_RETRY_S="0.2")
    try:
        session = a.create_session(
            "Redis outage", ["Tell me about yourself", "Why us?", "A hard problem?", "Questions?"]
        )
        sid = session["session_id"]
        observe = f"{ws_base(b)}/ws/observe/{sid}/?token={b.login_token()}"

        async def scenario() -> None:
            async with (
                websockets.connect(observe, origin=b.base) as observer,
                websockets.connect(
                    f"{ws_base(a)}/ws/interview/{sid}/?token={join_token(session)}",
                    origin=a.base,
                ) as candidate,
            ):
                await candidate.send(json.dumps({"type": "interview.start"}))
                await events_until(candidate, "ai.message")
                first = await ask(candidate, "I write Python services.")
                watched = await events_until(observer, "ai.message", count=2)
                assert watched[-1]["seq"] == first[-1]["seq"]  # crosses processes
                seen_before = watched[-1]["seq"]

                redis.kill()
                second = await ask(candidate, "I once moved a pipeline to streaming.")
                # The candidate's own socket still gets its interview's events.
                kinds = [e["type"] for e in second]
                assert "turn.committed" in kinds and "ai.delta" in kinds
                await candidate.send(json.dumps({"type": "ping"}))
                await events_until(candidate, "pong")
                wait_for_log([a, b], DOWN)

                redis.start()
                wait_for_log([a, b], BACK)
                third = await ask(candidate, "I measure first.")
                # Live events cross processes again, on the observer's same socket.
                live = await events_until(observer, "ai.message", wait=15, count=1)
                while live[-1]["seq"] != third[-1]["seq"]:
                    live = await events_until(observer, "ai.message", wait=15)

            # An observer that reconnects and resumes gets everything it missed.
            async with websockets.connect(observe, origin=b.base) as again:
                missed = await replayed_seqs(again, after_seq=seen_before)
            async with websockets.connect(observe, origin=b.base) as check:
                everything = await replayed_seqs(check)
            assert missed == [s for s in everything if s > seen_before]
            assert third[-1]["seq"] in missed and second[-1]["seq"] in missed

        asyncio.run(scenario())
        rows = a.conversation(sid)
        answers = [r["message"] for r in rows if r["speaker"] == "student"]
        assert answers == [
            "I write Python services.",
            "I once moved a pipeline to streaming.",
            "I measure first.",
        ]
        # One warning when Redis went, one when it came back, in each process.
        for server in (a, b):
            assert log_lines(server, DOWN) == 1, server.log_path.read_text()[-3000:]
            assert log_lines(server, BACK) == 1
            assert " 1011" not in server.log_path.read_text()
        assert httpx.get(f"{a.base}/healthz").status_code == 200
    finally:
        a.stop()
        b.stop()
        if redis.proc and redis.proc.poll() is None:
            redis.kill()
