"""The review page in headless Chromium: staff open an ended interview, follow
an evaluation's evidence to the turn it cites, record "Advance" with a
rationale and still see it after a reload; the page passes axe-core and fits
a 375 px screen."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .a11y import NARROW_VIEWPORT, assert_accessible, assert_fits_narrow_screen
from .conftest import login_observer
from .server import ROOT

pytestmark = pytest.mark.browser

# Run in the server's own database (manage.py shell): a completed interview
# with typed answers, a note, a suggestion and an evaluation, made through the
# services (faster than driving an interview).
SETUP = """
import json
from interviews import services
from interviews.wire import EventType
interviewer = services.create_interviewer(name="Kim Interviewer", email="i@example.com")
student = services.create_student(name="Lee Candidate", email="c@example.com")
session = services.create_session(
    interviewer=interviewer, student=student, title="Data Engineer (review)", language="en"
)
q1 = services.create_question(session=session, question_text="Tell me about yourself", order=1)
q2 = services.create_question(session=session, question_text="What are your strengths?", order=2)
services.transition_session(session=session, action="start")
services.add_conversation(session=session, speaker="ai", message="Tell me about yourself", question=q1)
first = services.add_conversation(
    session=session, speaker="student", message="I build data pipelines in Python.", question=q1
)
services.add_conversation(session=session, speaker="ai", message="What are your strengths?", question=q2)
second = services.add_conversation(
    session=session, speaker="student", message="Careful testing and clear writing.", question=q2
)
services.add_observer_event(
    session=session, type_=EventType.OBSERVER_NOTE, text="Concrete answer.",
    author="observer", ref_seq=first.seq,
)
services.add_observer_event(
    session=session, type_=EventType.OBSERVER_SUGGEST, text="Ask about on-call.", author="observer"
)
services.add_conversation(session=session, speaker="ai", message="Thank you, that is all.")
services.transition_session(session=session, action="end")
services.save_evaluation(session=session, evaluation={
    "kind": "heuristic", "model": "heuristic-v1", "generated_at": "2026-02-01T10:30:00Z",
    "overall_score": 3.5, "recommendation": "yes", "summary": "Short, relevant answers.",
    "strengths": ["Relevant"], "concerns": ["Brief"],
    "questions": [
        {"question_id": q1.pk, "question_text": q1.question_text, "score": 4,
         "rationale": "On topic.", "seqs": [first.seq]},
        {"question_id": q2.pk, "question_text": q2.question_text, "score": 3,
         "rationale": "No example.", "seqs": [second.seq]},
    ],
})
print(json.dumps({"session_id": str(session.session_id), "first": first.pk, "second": second.pk}))
"""


@pytest.fixture
def ended_interview(rt_server) -> dict:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SETUP],
        cwd=ROOT,
        env=rt_server.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_review_page_records_a_decision_that_survives_a_reload(
    browser, rt_server, ended_interview, shoot, page_errors
):
    path = f"/dashboard/{ended_interview['session_id']}/review/"
    page = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
    page_errors.watch(page)
    login_observer(page, rt_server, path)

    assert page.get_by_role("heading", name="Review: Data Engineer (review)").is_visible()
    turns = page.locator(".review-transcript li[id^=turn-]")
    assert turns.count() == 5
    assert "I build data pipelines in Python." in turns.nth(1).inner_text()
    assert "Lee Candidate" in turns.nth(1).inner_text()
    note = page.locator("#notes .note--note")
    assert "observer" in note.inner_text() and "Concrete answer." in note.inner_text()
    assert "Ask about on-call." in page.locator("#notes .note--suggest").inner_text()

    # The first score's evidence link leads to the answer it rests on.
    page.locator("#evaluation a.evidence").first.click()
    assert page.url.endswith(f"#turn-{ended_interview['first']}")
    assert page.evaluate("document.querySelector(':target').id") == (
        f"turn-{ended_interview['first']}"
    )

    assert page.get_by_text("No decision recorded yet.").is_visible()
    assert_accessible(page)
    page.get_by_label("Advance").check()
    page.get_by_label("Rationale").fill("Clear, relevant answers; strong on testing.")
    page.get_by_role("button", name="Record decision").click()
    page.wait_for_url(f"{rt_server.base}{path}#decision")
    assert page.get_by_role("status").filter(has_text="Decision recorded.").is_visible()

    page.reload()
    current = page.locator("#decision .decision-current")
    assert "Advance by observer" in current.inner_text()
    assert page.locator("#decision .decision-rationale").inner_text() == (
        "Clear, relevant answers; strong on testing."
    )
    audit = page.locator("#audit tbody").inner_text()
    assert "Decision: Advance" in audit and "Viewed" in audit
    assert_accessible(page)
    shoot(page, "review")

    narrow = browser.new_context(viewport=NARROW_VIEWPORT).new_page()
    page_errors.watch(narrow)
    login_observer(narrow, rt_server, path)
    assert "Advance by observer" in narrow.locator("#decision .decision-current").inner_text()
    assert_fits_narrow_screen(narrow)
    assert_accessible(narrow)
    shoot(narrow, "review-narrow")
