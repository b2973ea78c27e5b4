"""The server command's allocator (RT_ALLOCATOR, interview_rt/allocator.py)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from interview_rt import allocator
from tests.browser.server import LiveServer

pytestmark = pytest.mark.skipif(
    allocator.find_jemalloc() is None and os.environ.get("CI") != "true",
    reason="jemalloc is not installed (Debian: libjemalloc2; bin/test installs it)",
)


def mapped_libraries(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.parametrize(("setting", "expected"), [(None, True), ("system", False)])
def test_the_server_command_runs_on_jemalloc_unless_told_otherwise(tmp_path, setting, expected):
    server = LiveServer(tmp_path, tmp_path)
    if setting is not None:
        server.env["RT_ALLOCATOR"] = setting
    server.prepare()
    server.start()
    try:
        # Re-executed in place: the same process, now with jemalloc mapped,
        # serving as before.
        assert ("libjemalloc" in mapped_libraries(server.proc.pid)) is expected
        assert httpx.get(f"{server.base}/healthz", timeout=5).status_code == 200
    finally:
        server.stop()
    log = server.log_path.read_text()
    assert "RT_ALLOCATOR" not in log  # no fallback warning when it took


def test_a_command_is_re_executed_with_jemalloc_preloaded_once(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sys\n"
        "from interview_rt import allocator\n"
        "allocator.ensure('jemalloc', [sys.executable, *sys.argv])\n"
        "print(allocator.loaded(), sys.argv[1:])\n"
    )
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", allocator.REEXEC_MARKER)}
    env["LD_PRELOAD"] = "libm.so.6"  # another preload is kept beside it
    env["PYTHONPATH"] = str(root)
    out = subprocess.run(
        [sys.executable, str(probe), "an-argument"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    )
    assert out.stdout.split() == ["jemalloc", "['an-argument']"]
    assert out.stderr == ""


def test_without_jemalloc_the_server_warns_and_keeps_the_system_malloc(monkeypatch, caplog):
    # A machine without libjemalloc2: nothing to preload.
    monkeypatch.delenv(allocator.REEXEC_MARKER, raising=False)
    monkeypatch.setattr(allocator, "find_jemalloc", lambda: None)
    monkeypatch.setattr(os, "execve", lambda *a: pytest.fail("re-executed without jemalloc"))
    with caplog.at_level(logging.WARNING, logger="interview_rt.allocator"):
        allocator.ensure("jemalloc", [sys.executable])
    assert "jemalloc is not installed (Debian: libjemalloc2)" in caplog.text


def test_a_preload_that_did_not_take_is_reported_not_retried(monkeypatch, caplog):
    monkeypatch.setenv(allocator.REEXEC_MARKER, "1")
    monkeypatch.setattr(allocator, "loaded", lambda: "system")
    monkeypatch.setattr(os, "execve", lambda *a: pytest.fail("re-executed a second time"))
    with caplog.at_level(logging.WARNING, logger="interview_rt.allocator"):
        allocator.ensure("jemalloc", [sys.executable])
    assert "preloaded but not loaded" in caplog.text


def test_system_never_re_executes(monkeypatch):
    monkeypatch.setattr(os, "execve", lambda *a: pytest.fail("re-executed"))
    allocator.ensure("system", [sys.executable])
