"""The candidates pages in the browser: staff open the list, then a candidate,
press "Delete candidate data", confirm by typing the name and see what was
removed; the API then knows neither the candidate nor the answers, and the
recording is gone from storage. Each page passes axe-core and fits 375 px."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.erasure_data import wav_upload

from .a11y import NARROW_VIEWPORT, assert_accessible, assert_fits_narrow_screen
from .conftest import login_observer

pytestmark = pytest.mark.browser

CANDIDATE = "Mira Okafor-Lindqvist"
EMAIL = "mira.okafor@example.com"
ANSWER = "I migrated our billing system to event sourcing without downtime."
WIDE = {"width": 1280, "height": 900}


def ended_interview(server) -> dict:
    """Over the API: an interview of CANDIDATE with a typed and a recorded answer, ended."""
    interviewer = server.api(
        "POST", "/api/interviewers/", json={"name": "Kim Interviewer", "email": "k@example.com"}
    ).json()
    student = server.api("POST", "/api/students/", json={"name": CANDIDATE, "email": EMAIL}).json()
    session = server.api(
        "POST",
        "/api/sessions/",
        json={
            "interviewer_id": interviewer["id"],
            "student_id": student["id"],
            "title": f"Staff engineer: {CANDIDATE}",
        },
    ).json()
    assert server.api("POST", f"/api/sessions/{session['id']}/start/").status_code == 200
    typed = server.api(
        "POST",
        "/api/conversations/",
        json={"session": session["id"], "speaker": "student", "message": ANSWER},
    )
    assert typed.status_code == 201, typed.text
    recording = wav_upload("spoken.wav")
    spoken = server.api(
        "POST",
        "/api/conversations/",
        data={"session": session["id"], "speaker": "student", "message": "Spoken answer"},
        files={"audio_file": ("spoken.wav", recording.read(), "audio/wav")},
    )
    assert spoken.status_code == 201, spoken.text
    assert server.api("POST", f"/api/sessions/{session['id']}/end/").status_code == 200
    return {"session": session, "student": student, "audio_url": spoken.json()["audio_file"]}


def recordings_on_disk(server) -> set[Path]:
    """The recorded answers in the server's storage (MEDIA_ROOT, served by no URL)."""
    return {p for p in (server.workdir / "media" / "audio").rglob("*") if p.is_file()}


def served(server, url: str) -> bool:
    """Whether staff can play the recording through its authenticated view."""
    assert url.startswith(f"{server.base}/api/conversations/"), url
    return server.api("GET", url.removeprefix(server.base)).status_code == 200


def check_page(page, shoot, name: str) -> None:
    """axe-core at full width, then nothing sideways at 375 px; a screenshot of each."""
    page.set_viewport_size(WIDE)
    assert_accessible(page)
    shoot(page, name)
    page.set_viewport_size(NARROW_VIEWPORT)
    assert_fits_narrow_screen(page)
    assert_accessible(page)
    shoot(page, f"{name}-narrow")
    page.set_viewport_size(WIDE)


def test_staff_erase_a_candidate_from_the_candidates_page(browser, rt_server, shoot, page_errors):
    before = recordings_on_disk(rt_server)
    made = ended_interview(rt_server)
    sid, student_id = made["session"]["session_id"], made["student"]["id"]
    assert served(rt_server, made["audio_url"])
    # The answer's own file: other tests' interviews may be storing theirs meanwhile.
    body = rt_server.api("GET", made["audio_url"].removeprefix(rt_server.base)).content
    recordings = {p for p in recordings_on_disk(rt_server) - before if p.read_bytes() == body}
    assert len(recordings) == 1, "the recorded answer is not in storage"

    page = browser.new_context(viewport=WIDE).new_page()
    page_errors.watch(page)
    login_observer(page, rt_server, "/dashboard/")
    page.get_by_role("link", name="Candidates").click()
    page.wait_for_url(f"{rt_server.base}/dashboard/candidates/")
    card = page.locator("li.candidate", has_text=CANDIDATE)
    assert f"Staff engineer: {CANDIDATE}" in card.inner_text()
    assert card.get_by_role("link", name=f"Staff engineer: {CANDIDATE}").get_attribute("href") == (
        f"/dashboard/{sid}/review/"
    )
    assert "Completed" in card.inner_text() and "No decision yet" in card.inner_text()
    assert page.get_by_role("link", name="Export CSV").is_visible()
    check_page(page, shoot, "1-candidates")

    card.get_by_role("link", name=CANDIDATE, exact=True).click()
    page.wait_for_url(f"{rt_server.base}/dashboard/candidates/{student_id}/")
    assert page.get_by_role("heading", level=1).inner_text() == CANDIDATE
    assert EMAIL in page.inner_text("main")
    check_page(page, shoot, "2-candidate")

    page.get_by_role("link", name="Delete candidate data").click()
    page.wait_for_url(re.compile(r".*/erase/$"))
    check_page(page, shoot, "3-confirm")
    # A wrong name is refused, said next to the field.
    page.get_by_label("Type the candidate's name to confirm").fill("Mira")
    page.get_by_role("button", name="Delete candidate data permanently").click()
    field = page.get_by_label("Type the candidate's name to confirm")
    assert field.get_attribute("aria-invalid") == "true"
    assert "That is not the candidate's name" in page.inner_text("main")
    field.fill(CANDIDATE.lower())
    page.get_by_role("button", name="Delete candidate data permanently").click()
    page.wait_for_url(re.compile(r".*/dashboard/candidates/erased/\d+/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Candidate data erased"
    removed = page.get_by_role("table", name="What was removed or anonymised").inner_text()
    assert re.search(r"Transcript lines\s+2", removed)
    assert re.search(r"Recorded answers \(audio files\)\s+1", removed)
    check_page(page, shoot, "4-erased")

    # The API knows neither the candidate nor the answers; the file is gone.
    students = rt_server.api("GET", "/api/students/?page_size=200").json()["results"]
    assert CANDIDATE not in {s["name"] for s in students}
    assert rt_server.api("GET", f"/api/students/{student_id}/").status_code == 404
    assert rt_server.conversation(sid) == []
    assert not served(rt_server, made["audio_url"])
    assert not any(path.exists() for path in recordings)
    session = rt_server.api("GET", f"/api/sessions/{sid}/").json()
    assert CANDIDATE not in session["title"] and session["status"] == "completed"
    assert session["student"]["name"].startswith("Erased candidate #")
