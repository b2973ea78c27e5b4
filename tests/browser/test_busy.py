"""The candidate page when the server has no room for another voice: the busy
sentence with a live countdown, typed answers meanwhile, retries by itself,
and the voice is taken once a place frees. The server here admits one
interview's audio (RT_STT_MAX_STREAMS=1) and retries after 2 s, 4 s, ..."""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from websockets.sync.client import connect

from .a11y import NARROW_VIEWPORT, assert_accessible, assert_fits_narrow_screen
from .server import LiveServer

pytestmark = pytest.mark.browser

BUSY = re.compile(r"^The interview server is busy; trying again in \d+ s$")


@pytest.fixture(scope="module")
def one_place_server(chromium_path, artifacts):
    workdir = Path(tempfile.mkdtemp(prefix="interview-rt-busy-"))
    server = LiveServer(workdir, artifacts)
    server.log_path = artifacts / "server-busy.log"
    # Admission as shipped (the package's server relaxes it), with a bound of one.
    for relaxed in ("RT_STT_LATENCY_TARGET_MS", "RT_STT_ADMISSION_IDLE_S"):
        server.env.pop(relaxed)
    server.env.update(RT_STT_MAX_STREAMS="1", RT_BUSY_RETRY_S="2", RT_BUSY_RETRY_MAX_S="4")
    server.prepare()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def socket_url(session: dict) -> str:
    """The candidate socket of `session`, from its join link (same token)."""
    sid = session["session_id"]
    return (
        session["join_url"]
        .replace("http://", "ws://")
        .replace(f"/join/{sid}/", f"/ws/interview/{sid}/")
    )


def holds_place(server: LiveServer, session_uuid: str) -> bool:
    with sqlite3.connect(server.workdir / "db.sqlite3") as db:
        row = db.execute(
            "select count(*) from speech_speechplace where session_uuid = ?",
            (uuid.UUID(session_uuid).hex,),
        ).fetchone()
    return row[0] == 1


def take_the_place(holder, server: LiveServer, session: dict) -> None:
    holder.send('{"type": "audio.config", "sample_rate": 16000}')
    for _ in range(50):
        if holds_place(server, session["session_id"]):
            return
        time.sleep(0.2)
    raise AssertionError("the first interview was not admitted")


def test_busy_page_counts_down_keeps_typing_and_gets_in_when_a_place_frees(
    browser, one_place_server, shoot, page_errors
):
    server = one_place_server
    first = server.create_session("Takes the one place", ["Tell me about yourself"])
    waiting = server.create_session("Waits for it", ["Tell me about yourself", "Why us?"])

    # Another candidate's interview holds the one place.
    with connect(socket_url(first), origin=server.base) as holder:
        take_the_place(holder, server, first)

        page = browser.new_context(viewport={"width": 1024, "height": 1100}).new_page()
        page_errors.watch(page)
        page.goto(waiting["join_url"])
        busy = page.locator("#busy")
        busy.wait_for(state="visible", timeout=15_000)
        sentence = busy.locator("p").first
        assert BUSY.match(sentence.inner_text()), sentence.inner_text()
        assert "type your answers" in busy.inner_text()
        assert busy.get_attribute("role") == "status"
        shoot(page, "1-busy")
        assert_accessible(page)

        # The countdown moves, and the page asks again by itself (still refused).
        page.wait_for_function(
            "document.querySelector('#busy p').textContent.includes('trying again now')",
            timeout=10_000,
        )
        page.wait_for_function(
            "/trying again in \\d+ s/.test(document.querySelector('#busy p').textContent)",
            timeout=10_000,
        )

        # Typed answers work meanwhile.
        page.check("#consent")
        page.click("#start-typed")
        page.wait_for_selector("#transcript .turn--ai:not(.turn--live)", timeout=15_000)
        page.fill("#answer", "I can type while the server is busy.")
        page.click("#answer-form button[type=submit]")
        page.wait_for_function(
            "[...document.querySelectorAll('#transcript .turn--student')]"
            ".some((li) => li.textContent.includes('I can type while the server is busy.'))",
            timeout=15_000,
        )
        assert busy.is_visible()

        # The other interview ends: its place frees, the next retry is admitted.
        r = server.api("POST", f"/api/sessions/{first['id']}/cancel/")
        assert r.status_code == 200, r.text
    busy.wait_for(state="hidden", timeout=20_000)
    assert holds_place(server, waiting["session_id"])
    assert not holds_place(server, first["session_id"])
    shoot(page, "2-admitted")
    page.context.close()
    server.api(
        "POST", f"/api/sessions/{waiting['id']}/cancel/"
    )  # the place frees for the next test


def test_busy_sentence_fits_a_narrow_screen(browser, one_place_server, page_errors):
    server = one_place_server
    first = server.create_session("Holder", ["Q?"])
    waiting = server.create_session("Narrow", ["Q?"])
    with connect(socket_url(first), origin=server.base) as holder:
        take_the_place(holder, server, first)
        page = browser.new_context(viewport=NARROW_VIEWPORT).new_page()
        page_errors.watch(page)
        page.goto(waiting["join_url"])
        page.locator("#busy").wait_for(state="visible", timeout=15_000)
        assert_fits_narrow_screen(page)
        page.context.close()
    for session in (first, waiting):
        server.api("POST", f"/api/sessions/{session['id']}/cancel/")
