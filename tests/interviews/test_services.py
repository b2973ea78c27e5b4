"""The domain services on their own (the API tests cover them through HTTP)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from interviews import services
from interviews.exceptions import InUse, InvalidInput
from interviews.models import InterviewSession, Question
from reports import services as report_services

pytestmark = [pytest.mark.django_db, pytest.mark.db_backend]


@pytest.mark.parametrize("minutes", [0, 601])
def test_duration_bounds_hold_outside_the_api(interviewer, student, minutes):
    with pytest.raises(ValidationError, match="duration_minutes"):
        services.create_session(
            interviewer=interviewer, student=student, title="T", duration_minutes=minutes
        )
    assert not InterviewSession.objects.exists()


@pytest.mark.parametrize(
    "field", ["status", "started_at", "ended_at", "session_id", "join_token", "last_seq"]
)
def test_update_session_refuses_managed_fields(session, field):
    with pytest.raises(InvalidInput, match=field):
        services.update_session(session=session, changes={field: None, "title": "X"})
    session.refresh_from_db()
    assert session.title == "Software Engineer Interview"


def test_bulk_create_service_names_the_failing_index_and_rolls_back(session):
    before = Question.objects.count()
    with pytest.raises(InvalidInput) as caught:
        services.bulk_create_questions(
            items=[
                {"session": session, "question_text": "Fine"},
                {"session": session, "question_text": "Bad", "difficulty": "extreme"},
            ]
        )
    assert caught.value.details["index"] == 1 and "difficulty" in caught.value.details["errors"]
    assert "questions[1]" in caught.value.message
    assert Question.objects.count() == before


def test_question_order_appends_per_session_and_bank(session):
    bank_first = services.create_question(question_text="Bank 1")
    bank_second = services.create_question(question_text="Bank 2")
    appended = services.create_question(session=session, question_text="Third")
    assert (bank_first.order, bank_second.order, appended.order) == (1, 2, 3)
    copied = services.copy_questions_from_bank(session=session, questions=[bank_first, bank_second])
    assert [q.order for q in copied] == [4, 5]


def test_deleting_people_with_sessions_is_refused(session):
    with pytest.raises(InUse, match="1 interview session"):
        services.delete_interviewer(interviewer=session.interviewer)
    with pytest.raises(InUse, match="1 interview session"):
        services.delete_student(student=session.student)


@pytest.mark.django_db(transaction=True)
def test_deleting_a_session_removes_its_stored_files(session):
    services.transition_session(session=session, action="start")
    turn = services.add_conversation(
        session=session,
        speaker="student",
        message="Spoken answer",
        audio_file=ContentFile(b"RIFF....WAVE", name="turn.wav"),
    )
    report = report_services.generate_report(session=session)
    services.transition_session(session=session, action="end")
    audio, pdf = turn.audio_file, report.pdf_file
    assert audio.storage.exists(audio.name) and pdf.storage.exists(pdf.name)
    services.delete_session(session=session)
    assert not audio.storage.exists(audio.name) and not pdf.storage.exists(pdf.name)
    assert not InterviewSession.objects.filter(pk=session.pk).exists()


def test_deleting_a_live_session_is_refused(session):
    services.transition_session(session=session, action="start")
    with pytest.raises(InUse, match="in progress"):
        services.delete_session(session=session)
