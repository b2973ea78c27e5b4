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


# Records each text the busy sentence shows (window.busySentences), in order.
RECORD_SENTENCES = """() => {
  const sentence = document.querySelector('#busy p');
  window.busySentences = [sentence.textContent];
  new MutationObserver(() => window.busySentences.push(sentence.textContent))
    .observe(sentence, { childList: true, characterData: true, subtree: true });
}"""


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


@pytest.fixture
def leaves_the_place_free(one_place_server):
    """Sessions and browser contexts a test opens, ended afterwards whether it
    passed or not: a page left retrying would take the next test's one place."""
    sessions: list[dict] = []
    contexts: list = []
    yield sessions, contexts
    for context in contexts:
        context.close()
    for session in sessions:
        one_place_server.api("POST", f"/api/sessions/{session['id']}/cancel/")


def test_busy_page_counts_down_keeps_typing_and_gets_in_when_a_place_frees(
    browser, one_place_server, shoot, page_errors, leaves_the_place_free
):
    server = one_place_server
    sessions, contexts = leaves_the_place_free
    first = server.create_session("Takes the one place", ["Tell me about yourself"])
    waiting = server.create_session("Waits for it", ["Tell me about yourself", "Why us?"])
    sessions += [first, waiting]

    # Another candidate's interview holds the one place.
    with connect(socket_url(first), origin=server.base) as holder:
        take_the_place(holder, server, first)

        contexts.append(browser.new_context(viewport={"width": 1024, "height": 1100}))
        page = contexts[-1].new_page()
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
        # "trying again now" stays only until the refusal comes back, often less
        # than a frame, so every text the sentence shows is recorded as it changes.
        page.evaluate(RECORD_SENTENCES)
        page.wait_for_function(
            "window.busySentences.some((text) => text.includes('trying again now'))",
            timeout=10_000,
        )
        page.wait_for_function(
            "window.busySentences.slice("
            "window.busySentences.findIndex((text) => text.includes('trying again now'))"
            ").some((text) => /trying again in \\d+ s/.test(text))",
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


def test_busy_sentence_fits_a_narrow_screen(
    browser, one_place_server, page_errors, leaves_the_place_free
):
    server = one_place_server
    sessions, contexts = leaves_the_place_free
    first = server.create_session("Holder", ["Q?"])
    waiting = server.create_session("Narrow", ["Q?"])
    sessions += [first, waiting]
    with connect(socket_url(first), origin=server.base) as holder:
        take_the_place(holder, server, first)
        contexts.append(browser.new_context(viewport=NARROW_VIEWPORT))
        page = contexts[-1].new_page()
        page_errors.watch(page)
        page.goto(waiting["join_url"])
        page.locator("#busy").wait_for(state="visible", timeout=15_000)
        assert_fits_narrow_screen(page)
