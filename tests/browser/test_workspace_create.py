"""The recruiter's workspace, walked as a person would (no API call, no admin
page): log in on the dashboard, create an interview from the lobby, send the
candidate's link, the candidate answers by typing until the interviewer closes,
then end the session, generate the report and download the PDF. Also: a
session staff started over the API before the candidate opened the link, and
each page's accessibility at a phone's width."""

from __future__ import annotations

import io
import itertools
import re
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from pypdf import PdfReader

from .a11y import NARROW_VIEWPORT, assert_accessible, assert_fits_narrow_screen
from .server import STAFF_PASSWORD, STAFF_USER

pytestmark = pytest.mark.browser

QUESTIONS = [
    "Tell me about a system you built",
    "How do you test your work?",
    "Why do you want this role?",
]
ANSWERS = [
    "I built a queue service in Python that moved orders between warehouses, "
    "with retries, metrics and a dashboard the operations team used every day.",
    "I write unit tests first, then integration tests against a real database, "
    "and I watch latency figures after each release to catch regressions early.",
    "The team ships speech products that people use daily and I want to work "
    "on streaming systems with careful engineers who measure what they change.",
    "To add one more thing, I also mentor new engineers and review their designs "
    "so that the whole team learns from each incident we have.",
]
WIDE = {"width": 1280, "height": 1400}
unique = itertools.count(1)

AI_TURNS = "#transcript .turn--ai:not(.turn--live)"


def log_in(page, server, next_path: str = "/dashboard/") -> None:
    page.goto(f"{server.base}/dashboard/login/?next={next_path}")
    page.get_by_label("Username").fill(STAFF_USER)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.base}{next_path}")


def create_interview(
    page,
    title: str,
    questions: list[str],
    candidate: str = "Lee Candidate",
    email: str = "lee@example.com",
) -> str:
    """From the lobby, through the form; returns the candidate's join link."""
    page.get_by_role("link", name="New interview").click()
    page.wait_for_url(re.compile(r".*/dashboard/new/$"))
    page.get_by_label("Title").fill(title)
    page.get_by_label("Candidate’s name").fill(candidate)
    page.get_by_label("Candidate’s email").fill(email)
    page.get_by_label("Interviewer", exact=True).select_option("")
    page.get_by_label("Interviewer’s name").fill("Kim Interviewer")
    page.get_by_label("Interviewer’s email").fill("kim@example.com")
    page.get_by_label("Duration (minutes)").fill("20")
    page.get_by_label("Job description").fill("Backend engineer for streaming speech services.")
    page.get_by_label("Questions, one per line").fill("\n".join(questions))
    page.get_by_role("button", name="Create interview").click()
    page.wait_for_url(re.compile(r".*/dashboard/[0-9a-f-]{36}/$"))
    return page.locator("#join-link").input_value()


def answer_until_the_end(candidate, answers: list[str]) -> list[str]:
    """Type answers, one per AI question, until the page says the interview is
    over; returns the answers given."""
    given = []
    for answer in answers:
        candidate.wait_for_function(
            f"document.querySelectorAll('{AI_TURNS}').length >= {len(given) + 1}"
            " || !document.getElementById('ended').hidden",
            timeout=20_000,
        )
        if candidate.locator("#ended").is_visible():
            break
        try:
            candidate.get_by_label("Type your answer").fill(answer, timeout=10_000)
            candidate.get_by_role("button", name="Send answer").click(timeout=10_000)
        except PlaywrightTimeout:
            # The AI's last turn was its closing words: the page hid the box.
            if candidate.locator("#ended").is_visible():
                break
            raise
        given.append(answer)
    candidate.wait_for_selector("#ended", state="visible", timeout=20_000)
    return given


def pdf_text(body: bytes) -> str:
    text = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)
    return re.sub(r"\s+", " ", text)


def test_log_in_create_run_end_report_decide_and_erase(browser, rt_server, shoot, page_errors):
    context = browser.new_context(viewport=WIDE)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=rt_server.base)
    staff = context.new_page()
    page_errors.watch(staff)

    # A wrong password first: said plainly, on the dashboard's own page.
    staff.goto(f"{rt_server.base}/dashboard/")
    assert "/dashboard/login/" in staff.url
    staff.get_by_label("Username").fill(STAFF_USER)
    staff.get_by_label("Password").fill("not-my-password")
    staff.get_by_role("button", name="Log in").click()
    assert "do not match" in staff.locator("#login-error").inner_text()
    log_in(staff, rt_server)

    number = next(unique)
    title = f"Platform Engineer {number}"
    name, email = f"Noor Walkthrough {number}", f"noor.walk{number}@example.com"
    join_url = create_interview(staff, title, QUESTIONS, candidate=name, email=email)
    assert "The interview is ready" in staff.locator("#session-controls").inner_text()
    assert join_url.startswith(f"{rt_server.base}/join/")
    staff.get_by_role("button", name="Copy link").click()
    staff.wait_for_function("document.getElementById('copy-status').textContent !== ''")
    assert "Link copied" in staff.locator("#copy-status").inner_text()
    assert staff.evaluate("navigator.clipboard.readText()") == join_url
    assert staff.get_by_role("button", name="Cancel interview").is_visible()
    staff.wait_for_selector("#connection[data-state=open]")

    candidate_context = browser.new_context()
    candidate = candidate_context.new_page()
    page_errors.watch(candidate)
    candidate.goto(join_url)
    assert candidate.get_by_role("button", name="Start the interview").is_visible()
    candidate.get_by_label("I agree that my voice and answers are recorded").check()
    candidate.get_by_role("button", name="Answer by typing instead").click()
    given = answer_until_the_end(candidate, ANSWERS)
    assert len(given) >= len(QUESTIONS)
    assert candidate.locator("#problem").is_hidden()
    shoot(candidate, "candidate-ended")

    # The interviewer closed; the session is still open: one step ends it and
    # makes the report (if the session completed already, "Generate report").
    staff.wait_for_selector("#end-and-report:visible, #generate-report:visible", timeout=15_000)
    if staff.locator("#end-and-report").is_visible():
        assert "finished the conversation" in staff.locator("#ai-closed-note").inner_text()
        shoot(staff, "interview-ai-closed")
        staff.get_by_role("button", name="End session and generate report").click()
    else:
        staff.get_by_role("button", name="Generate report").click()
    staff.wait_for_selector("#download-report:visible", timeout=30_000)
    assert staff.locator("#status").get_attribute("data-status") == "completed"
    review = staff.get_by_role("link", name="Review and decide")
    assert review.get_attribute("href") == staff.url.split(rt_server.base)[1] + "review/"
    with staff.expect_download() as download:
        staff.get_by_role("link", name="Download report (PDF)").click()
    body = Path(download.value.path()).read_bytes()
    assert body[:4] == b"%PDF"
    text = pdf_text(body)
    assert title in text
    for answer in given:
        assert " ".join(answer.split()[:6]) in text, answer
    shoot(staff, "interview-report-ready")
    candidate_context.close()

    # Review and decide: the decision is still there after a reload.
    review.click()
    staff.wait_for_url(re.compile(r".*/review/$"))
    review_url = staff.url
    staff.get_by_label("Advance").check()
    staff.get_by_label("Rationale").fill("Concrete answers about testing and operations.")
    staff.get_by_role("button", name="Record decision").click()
    staff.wait_for_url(f"{review_url}#decision")
    staff.reload()
    assert "Advance by" in staff.locator("#decision .decision-current").inner_text()
    assert staff.locator("#decision .decision-rationale").inner_text() == (
        "Concrete answers about testing and operations."
    )
    session_uuid = review_url.rstrip("/").split("/")[-2]

    # Erase the candidate from the candidates page.
    staff.get_by_role("link", name="Candidates").click()
    card = staff.locator("li.candidate", has_text=name)
    card.get_by_role("link", name=name, exact=True).click()
    staff.get_by_role("link", name="Delete candidate data").click()
    staff.get_by_label("Type the candidate's name to confirm").fill(name)
    staff.get_by_role("button", name="Delete candidate data permanently").click()
    staff.wait_for_url(re.compile(r".*/dashboard/candidates/erased/\d+/$"))
    assert staff.get_by_role("heading", level=1).inner_text() == "Candidate data erased"

    # The API no longer knows the candidate or the answers; the interview and
    # its decision stay, anonymised.
    students = rt_server.api("GET", "/api/students/?page_size=500").json()["results"]
    assert not [s for s in students if s["name"] == name or s["email"] == email]
    assert rt_server.conversation(session_uuid) == []
    everything = rt_server.api("GET", "/api/conversations/?page_size=500").text
    for answer in given:
        assert answer not in everything
    session = rt_server.api("GET", f"/api/sessions/{session_uuid}/").json()
    assert session["student"]["name"].startswith("Erased candidate #")
    assert session["decision"]["outcome"] == "advance"
    context.close()


def test_a_session_started_over_the_api_first_still_runs_to_its_end(
    browser, rt_server, page_errors
):
    session = rt_server.create_session(f"Started by staff {next(unique)}", QUESTIONS)
    r = rt_server.api("POST", f"/api/sessions/{session['id']}/start/")
    assert r.status_code == 200 and r.json()["status"] == "in_progress"

    candidate = browser.new_context().new_page()
    page_errors.watch(candidate)
    candidate.goto(session["join_url"])
    # Nothing was said yet, so the page starts the conversation, not "continues" it.
    assert candidate.get_by_role("button", name="Start the interview").is_visible()
    candidate.get_by_label("I agree that my voice and answers are recorded").check()
    candidate.get_by_role("button", name="Answer by typing instead").click()
    given = answer_until_the_end(candidate, ANSWERS)
    assert len(given) >= len(QUESTIONS)
    assert candidate.locator("#problem").is_hidden()
    page_text = candidate.locator("body").inner_text()
    for protocol_word in ("interview.start", "initialize", "REST", "WebSocket"):
        assert protocol_word not in page_text
    stored = rt_server.conversation(session["session_id"])
    assert [row["message"] for row in stored if row["speaker"] == "student"] == given
    assert stored[0]["speaker"] == "ai" and stored[-1]["speaker"] == "ai"


def check(page, shoot, name: str) -> None:
    assert_accessible(page)
    assert_fits_narrow_screen(page)
    shoot(page, name)


def test_each_page_is_accessible_and_fits_a_phone(browser, rt_server, shoot, page_errors):
    staff = browser.new_context(viewport=NARROW_VIEWPORT).new_page()
    page_errors.watch(staff)
    staff.goto(f"{rt_server.base}/dashboard/login/")
    check(staff, shoot, "login")
    log_in(staff, rt_server)
    staff.wait_for_selector("#connection[data-state=open]")
    check(staff, shoot, "lobby")

    staff.get_by_role("link", name="New interview").click()
    staff.wait_for_url(re.compile(r".*/dashboard/new/$"))
    check(staff, shoot, "new-interview")
    # Drafting needs a language model; without one the page says so plainly.
    staff.get_by_label("Job description").fill("Backend engineer for speech services.")
    staff.get_by_role("button", name="Draft questions from the job description").click()
    staff.wait_for_function("document.getElementById('draft-status').textContent.includes('.')")
    staff.wait_for_function("!document.getElementById('draft-status').textContent.includes('…')")
    assert "No language model is set up" in staff.locator("#draft-status").inner_text()
    # Submitting it half-filled: field errors, in words, checked by axe too.
    staff.get_by_role("button", name="Create interview").click()
    staff.wait_for_selector("#form-problems")
    assert "Nothing has been saved yet" in staff.locator("#form-problems").inner_text()
    check(staff, shoot, "new-interview-errors")

    staff.goto(f"{rt_server.base}/dashboard/00000000-0000-4000-8000-000000000000/")
    assert staff.locator("h1").is_visible()
    check(staff, shoot, "interview-missing")

    staff.goto(f"{rt_server.base}/dashboard/")
    join_url = create_interview(staff, f"Narrow screen {next(unique)}", QUESTIONS[:1])
    staff.wait_for_selector("#connection[data-state=open]")
    check(staff, shoot, "interview-page")

    # Rotate the link: asked first; "Keep the old link" changes nothing.
    staff.get_by_role("button", name="Rotate link").click()
    staff.get_by_role("button", name="Keep the old link").click()
    assert staff.locator("#join-link").input_value() == join_url
    staff.get_by_role("button", name="Rotate link").click()
    check(staff, shoot, "interview-page-rotate-dialog")
    staff.get_by_role("button", name="Make a new link").click()
    staff.wait_for_selector("text=The candidate has a new link")
    new_url = staff.locator("#join-link").input_value()
    assert new_url != join_url

    candidate = browser.new_context(viewport=NARROW_VIEWPORT).new_page()
    page_errors.watch(candidate)
    candidate.goto(join_url)
    assert "does not work" in candidate.locator("h1").inner_text()
    check(candidate, shoot, "join-link-refused")
    candidate.goto(new_url)
    candidate.wait_for_selector("#connection[data-state=open]")
    check(candidate, shoot, "candidate-setup")
    candidate.get_by_label("I agree that my voice and answers are recorded").check()
    candidate.get_by_role("button", name="Answer by typing instead").click()
    candidate.wait_for_selector(AI_TURNS)
    check(candidate, shoot, "candidate-interview")
