"""A spoken answer from the fake microphone is playable on the review page: its
audio element loads the recording the server kept (through the staff-only,
Range-capable view), and erasing the candidate removes the file from storage."""

from __future__ import annotations

import re

import pytest

from .conftest import login_observer
from .test_candidates_page import recordings_on_disk
from .test_voice_interview import QUESTIONS, rows_until

pytestmark = pytest.mark.browser

LOADED = """(el) => new Promise((resolve) => {
  const done = () => resolve({ duration: el.duration, ready: el.readyState, error: el.error && el.error.code });
  el.addEventListener('loadedmetadata', done, { once: true });
  el.addEventListener('error', done, { once: true });
  el.preload = 'auto';
  el.load();
})"""


def test_a_spoken_answer_plays_on_the_review_page_and_erasure_removes_it(
    voice_browser, rt_server, shoot, page_errors
):
    before = recordings_on_disk(rt_server)
    session = rt_server.create_session("Backend Engineer (review audio)", QUESTIONS)
    sid = session["session_id"]

    candidate = voice_browser.new_context().new_page()
    page_errors.watch(candidate)
    candidate.goto(session["join_url"])
    candidate.check("#consent")
    candidate.click("#start-voice")
    rows = rows_until(rt_server, sid, ["ai", "student", "ai"], candidate, timeout_s=60)
    answer = rows[1]
    assert answer["audio_file"], "the spoken answer has no recording"
    candidate.context.close()
    assert rt_server.api("POST", f"/api/sessions/{session['id']}/end/").status_code == 200
    # The answer's own file: other tests' interviews may be storing theirs meanwhile.
    served = rt_server.api("GET", f"/api/conversations/{answer['id']}/audio/").content
    recordings = {p for p in recordings_on_disk(rt_server) - before if p.read_bytes() == served}
    assert len(recordings) == 1, "the answer's recording is not in storage"

    staff = voice_browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
    page_errors.watch(staff)
    login_observer(staff, rt_server, f"/dashboard/{sid}/review/")
    turn = staff.locator(f"#turn-{answer['id']}")
    assert answer["message"] in turn.inner_text()
    audio = turn.locator("audio")
    assert audio.get_attribute("src") == f"/api/conversations/{answer['id']}/audio/"
    loaded = audio.evaluate(LOADED)
    assert loaded["error"] is None, loaded
    # The recording is the answer as spoken: seconds of audio, not an empty file.
    assert loaded["duration"] > 1.0, loaded
    shoot(staff, "review-recording")

    # Erase the candidate: the recording goes from storage too.
    staff.goto(f"{rt_server.base}/dashboard/candidates/{session['student']['id']}/")
    staff.get_by_role("link", name="Delete candidate data").click()
    staff.get_by_label("Type the candidate's name to confirm").fill(session["student"]["name"])
    staff.get_by_role("button", name="Delete candidate data permanently").click()
    staff.wait_for_url(re.compile(r".*/dashboard/candidates/erased/\d+/$"))
    assert not any(path.exists() for path in recordings)
    assert rt_server.api("GET", f"/api/conversations/{answer['id']}/audio/").status_code == 404
