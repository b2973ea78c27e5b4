"""The new-interview form: everything in one go, or nothing and clear errors."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from interviews import services
from interviews.models import AuditEntry, Interviewer, InterviewSession, Question, Student

pytestmark = pytest.mark.django_db

URL = "/dashboard/new/"
FORM = {
    "title": "Backend Engineer",
    "student_name": "Mina Park",
    "student_email": "mina@example.com",
    "interviewer_name": "Alex Kim",
    "interviewer_email": "alex@example.com",
    "duration_minutes": "25",
    "language": "en",
    "scheduled_at": "2026-03-01T10:30",
    "job_description": "Builds and runs our Python services.",
    "questions": "Tell me about yourself\n\n  What did you ship last?  \nWhy this team?\n",
}


def counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Student, Interviewer, InterviewSession, Question))


def test_the_form_has_a_label_for_every_field(staff_browser):
    r = staff_browser.get(URL)
    html = r.content.decode()
    assert r.status_code == 200
    for field, label in [
        ("title", "Title"),
        ("existing_student", "Candidate"),
        ("student_name", "Candidate’s name"),
        ("student_email", "Candidate’s email"),
        ("interviewer", "Interviewer"),
        ("duration_minutes", "Duration (minutes)"),
        ("language", "Language"),
        ("scheduled_at", "Scheduled time (optional)"),
        ("extra_time_s", "Extra time to answer (seconds)"),
        ("job_description", "Job description"),
        ("questions", "Questions, one per line"),
    ]:
        assert f'<label for="id_{field}">{label}</label>' in html, field
    assert "Draft questions from the job description" in html
    assert "Create interview" in html


def test_the_form_needs_staff(plain_user):
    client = Client()
    client.force_login(plain_user)
    r = client.post(URL, FORM)
    assert r.status_code == 302 and r["Location"].startswith("/dashboard/login/")
    assert counts() == (0, 0, 0, 0)


def test_a_new_candidate_interviewer_session_and_questions_in_one_go(staff_browser, staff_user):
    r = staff_browser.post(URL, FORM)
    session = InterviewSession.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/dashboard/{session.session_id}/"
    assert (session.title, session.duration_minutes, session.language) == (
        "Backend Engineer",
        25,
        "en",
    )
    assert session.description == "Builds and runs our Python services."
    assert session.scheduled_at.strftime("%Y-%m-%d %H:%M") == "2026-03-01 10:30"
    assert (session.student.name, session.student.email) == ("Mina Park", "mina@example.com")
    assert (session.interviewer.name, session.interviewer.email) == ("Alex Kim", "alex@example.com")
    assert [(q.order, q.question_text) for q in session.questions.order_by("order")] == [
        (1, "Tell me about yourself"),
        (2, "What did you ship last?"),
        (3, "Why this team?"),
    ]
    assert session.extra_time_s == 0  # not given: no accommodation
    entry = AuditEntry.objects.get(session=session, action="created")
    assert entry.actor == staff_user and entry.detail == {"questions": 3}
    page = staff_browser.get(r["Location"]).content.decode()
    assert "The interview is ready" in page and session.join_token in page


def test_extra_time_is_saved_with_the_new_interview_and_shown_on_its_page(staff_browser):
    r = staff_browser.post(URL, {**FORM, "extra_time_s": "8.5"})
    session = InterviewSession.objects.get()
    assert r.status_code == 302 and session.extra_time_s == 8.5
    page = staff_browser.get(r["Location"]).content.decode()
    assert "8.5 seconds more than the usual pause" in page


def test_an_existing_candidate_and_interviewer_and_bank_questions(staff_browser, student):
    interviewer = services.create_interviewer(name="Sam Lee", email="sam@example.com")
    bank = [
        services.create_question(question_text="Explain a race condition", category="Systems"),
        services.create_question(question_text="Design a rate limiter", difficulty="hard"),
    ]
    page = staff_browser.get(URL).content.decode()
    assert "Explain a race condition (Systems · Medium)" in page
    data = {
        **FORM,
        "existing_student": student.pk,
        "student_name": "",
        "student_email": "",
        "interviewer": interviewer.pk,
        "interviewer_name": "",
        "interviewer_email": "",
        "questions": "Warm-up: what are you proud of?",
        "bank_questions": [bank[1].pk, bank[0].pk],
    }
    r = staff_browser.post(URL, data)
    assert r.status_code == 302, r.content.decode()
    session = InterviewSession.objects.get()
    assert session.student == student and session.interviewer == interviewer
    assert Student.objects.count() == 1 and Interviewer.objects.count() == 1
    plan = [(q.question_text, q.difficulty) for q in session.questions.order_by("order", "id")]
    assert plan[0] == ("Warm-up: what are you proud of?", "medium")
    assert sorted(plan[1:]) == [
        ("Design a rate limiter", "hard"),
        ("Explain a race condition", "medium"),
    ]
    assert Question.objects.filter(session=None).count() == 2  # the bank keeps its own


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": ""}, "title", "This field is required."),
        ({"student_email": "not-an-email"}, "student_email", "Enter a valid email address."),
        ({"student_name": ""}, "student_name", "Enter the candidate’s name, or pick one."),
        (
            {"interviewer_email": ""},
            "interviewer_email",
            "Enter the interviewer’s email, or pick one.",
        ),
        ({"questions": "  \n \n"}, "questions", "Add at least one question"),
        ({"duration_minutes": "0"}, "duration_minutes", "greater than or equal to 1"),
        ({"language": "xx"}, "language", "Select a valid choice."),
        ({"scheduled_at": "tomorrow"}, "scheduled_at", "Enter a valid date/time."),
        ({"existing_student": "999"}, "existing_student", "Select a valid choice."),
        ({"extra_time_s": "45"}, "extra_time_s", "from 0 to 30"),
        ({"extra_time_s": "-1"}, "extra_time_s", "from 0 to 30"),
        ({"extra_time_s": "lots"}, "extra_time_s", "from 0 to 30"),
    ],
)
def test_bad_input_shows_the_fields_errors_and_saves_nothing(
    staff_browser, changes, field, message
):
    r = staff_browser.post(URL, {**FORM, **changes})
    html = r.content.decode()
    assert r.status_code == 200
    assert "Nothing has been saved yet" in html
    error = html.split(f'id="id_{field}_error">', 1)[1].split("</span>", 1)[0]
    assert message in error
    assert f'aria-describedby="id_{field}_error"' in html
    assert counts() == (0, 0, 0, 0)
    assert "Builds and runs our Python services." in html  # kept for correcting


def test_the_service_saves_nothing_when_a_late_step_fails(db):
    with pytest.raises(ValidationError):
        services.create_interview(
            title="Broken",
            student_name="Mina Park",
            student_email="mina@example.com",
            interviewer_name="Alex Kim",
            interviewer_email="alex@example.com",
            duration_minutes=0,  # the session refuses it, after the people were made
            questions=["Q1"],
        )
    assert counts() == (0, 0, 0, 0)
    assert AuditEntry.objects.count() == 0
