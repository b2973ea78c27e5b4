"""Two daphne processes on one SQLite file and one Redis: process A and B,
each with its own log (tests that look at what each logged)."""

from __future__ import annotations

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
