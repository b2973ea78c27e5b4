"""Erasing a candidate's data: every table and file that held it, what stays
(anonymised), the records left, the refusals, and a rollback that keeps files."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import CommandError, call_command

from interviews import erasure, selectors, services
from interviews.exceptions import InvalidTransition
from interviews.models import (
    AuditEntry,
    Conversation,
    Decision,
    Erasure,
    InterviewReport,
    InterviewSession,
    Question,
    SessionEvent,
    Student,
)
from tests.erasure_data import (
    NOTE,
    SPOKEN_ANSWER,
    SUGGESTION,
    SUMMARY,
    TYPED_ANSWER,
    candidate,
    interview_with_everything,
    stored_files,
)

pytestmark = [pytest.mark.django_db, pytest.mark.db_backend]

CANDIDATE_TRACES = (
    "jane",
    "smith",
    "jane.smith@example.com",
    SPOKEN_ANSWER.lower(),
    TYPED_ANSWER.lower(),
    NOTE.lower(),
    SUGGESTION.lower(),
    SUMMARY.lower(),
)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def jane(db):
    return candidate()


@pytest.fixture
def full(media, interviewer, jane, staff_user):
    return interview_with_everything(interviewer=interviewer, student=jane, staff=staff_user)


def whole_database() -> str:
    out = StringIO()
    call_command("dumpdata", stdout=out)
    return out.getvalue().lower()


def erase(student, by=None, *, capture):
    with capture(execute=True):
        return erasure.erase_student(student=student, erased_by=by)


def test_erasure_leaves_no_trace_of_the_candidate_in_any_table_or_file(
    full, jane, staff_user, django_capture_on_commit_callbacks
):
    files = stored_files()
    assert len(files) == 2  # the recorded answer and the PDF report
    before = whole_database()
    assert all(trace in before for trace in CANDIDATE_TRACES)

    erase(jane, staff_user, capture=django_capture_on_commit_callbacks)

    after = whole_database()
    assert [trace for trace in CANDIDATE_TRACES if trace in after] == []
    assert stored_files() == []
    assert not Student.objects.filter(pk=jane.pk).exists()
    for model in (Conversation, SessionEvent, InterviewReport):
        assert model.objects.filter(session=full).count() == 0, model


def test_the_interview_stays_anonymised_with_its_decision_and_dates(
    full, jane, staff_user, django_capture_on_commit_callbacks
):
    last_seq, started, ended = full.last_seq, full.started_at, full.ended_at
    InterviewSession.objects.filter(pk=full.pk).update(extra_time_s=12.0)  # an accommodation
    record = erase(jane, staff_user, capture=django_capture_on_commit_callbacks)
    placeholder = record.placeholder
    assert placeholder.name == f"Erased candidate #{record.pk}"
    assert placeholder.email == f"erased-{record.pk}@erased.invalid"

    full.refresh_from_db()
    assert full.student == placeholder
    assert full.title == f"Backend interview with Erased candidate #{record.pk}"
    assert full.description == (
        f"Erased candidate #{record.pk} (erased-{record.pk}@erased.invalid) was referred "
        f"by a friend. Reach Erased candidate #{record.pk} on weekdays."
    )
    assert (full.status, full.started_at, full.ended_at) == ("completed", started, ended)
    assert full.last_seq == last_seq
    assert full.evaluation is None
    assert full.extra_time_s == 0  # what the candidate needed goes with them
    # Progress stays, every text goes.
    assert full.ai_state == {
        "opened": True,
        "closed": True,
        "index": 0,
        "follow_ups": 1,
        "turns": 2,
        "question_started_s": 1700000000.5,
    }
    assert list(Question.objects.filter(session=full).values_list("question_text", flat=True)) == [
        "Tell me about your work"
    ]
    decision = selectors.current_decision(full)
    assert decision.outcome == Decision.Outcome.ADVANCE
    assert decision.decided_by == staff_user
    assert decision.rationale == (
        f"Erased candidate #{record.pk} is strong; write to "
        f"erased-{record.pk}@erased.invalid about next steps."
    )


def test_the_erasure_and_audit_records_count_what_went_and_name_nobody(
    full, jane, staff_user, django_capture_on_commit_callbacks
):
    record = erase(jane, staff_user, capture=django_capture_on_commit_callbacks)
    record.refresh_from_db()
    assert (record.erased_by, record.erased_by_name) == (staff_user, "staff")
    assert record.removed == {
        "interviews": 1,
        "conversations": 3,
        "audio_files": 1,
        # session.state x3, transcript.final, turn.committed x2, ai.message
        "events": 7,
        "notes": 1,
        "suggestions": 1,
        "reports": 1,
        "report_files": 1,
        "evaluations": 1,
        "interviews_cancelled": 0,
        "decision_rationales_anonymised": 1,
        "questions_anonymised": 0,
        "admin_history_entries": 1,
    }
    entry = AuditEntry.objects.get(session=full, action=AuditEntry.Action.ERASURE)
    assert entry.actor == staff_user and entry.actor_name == "staff"
    assert entry.detail == {"erasure_id": record.pk, "removed": record.removed}
    # The trail from before the erasure stays too (the decision).
    assert [e.action for e in selectors.audit_trail(full)] == ["decision", "erasure"]
    assert LogEntry.objects.get().object_repr == str(record.placeholder)


def test_every_interview_of_the_candidate_is_erased_and_a_scheduled_one_cancelled(
    media, interviewer, jane, django_capture_on_commit_callbacks
):
    done = interview_with_everything(interviewer=interviewer, student=jane, report=False)
    upcoming = services.create_session(
        interviewer=interviewer, student=jane, title="Second round: JANE SMITH"
    )
    old_token = upcoming.join_token
    other = services.create_session(
        interviewer=interviewer, student=candidate("Janet Jones", "janet@example.com"), title="x"
    )
    record = erase(jane, capture=django_capture_on_commit_callbacks)

    upcoming.refresh_from_db()
    assert upcoming.title == f"Second round: Erased candidate #{record.pk}"
    assert upcoming.status == "cancelled" and upcoming.ended_at is not None
    assert upcoming.join_token != old_token
    assert not selectors.join_token_valid(upcoming, old_token)
    assert set(InterviewSession.objects.filter(student=record.placeholder)) == {done, upcoming}
    assert record.removed["interviews"] == 2 and record.removed["interviews_cancelled"] == 1
    assert AuditEntry.objects.filter(action="erasure").count() == 2
    # Another candidate, whose name starts the same, is untouched.
    other.refresh_from_db()
    assert other.student.name == "Janet Jones" and other.status == "scheduled"


def test_refused_while_an_interview_is_live_and_nothing_changes(
    media, interviewer, jane, django_capture_on_commit_callbacks
):
    live = services.create_session(interviewer=interviewer, student=jane, title="Live one")
    services.transition_session(session=live, action="start")
    services.add_conversation(session=live, speaker="student", message=TYPED_ANSWER)
    with pytest.raises(InvalidTransition) as refused:
        erase(jane, capture=django_capture_on_commit_callbacks)
    assert refused.value.http_status == 409
    assert "“Live one” is live; end it first" in refused.value.message
    assert Student.objects.filter(pk=jane.pk).exists()
    assert Conversation.objects.filter(session=live).count() == 1
    assert not Erasure.objects.exists() and Student.objects.count() == 1


def test_the_placeholder_cannot_be_erased_again(
    media, interviewer, jane, django_capture_on_commit_callbacks
):
    services.create_session(interviewer=interviewer, student=jane, title="t")
    record = erase(jane, capture=django_capture_on_commit_callbacks)
    with pytest.raises(InvalidTransition, match="placeholder of an earlier erasure"):
        erase(record.placeholder, capture=django_capture_on_commit_callbacks)
    assert Erasure.objects.count() == 1


def test_a_failure_midway_rolls_everything_back_and_keeps_the_files(
    full, jane, monkeypatch, django_capture_on_commit_callbacks
):
    files = stored_files()
    rows = {m: m.objects.count() for m in (Conversation, SessionEvent, InterviewReport, Student)}

    def crash(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(erasure.services, "record_audit", crash)
    with pytest.raises(RuntimeError):
        erase(jane, capture=django_capture_on_commit_callbacks)
    assert stored_files() == files and all(p.exists() for p in files)
    assert {m: m.objects.count() for m in rows} == rows
    full.refresh_from_db()
    assert full.student == jane and full.evaluation is not None
    assert not Erasure.objects.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Interview: Jane Smith", "Interview: ERASED"),
        ("interview: jane   smith!", "interview: ERASED!"),
        ("Mail jane.smith@example.com today", "Mail erased@erased.invalid today"),
        ("Hi Jane, Janet says hi", "Hi ERASED, Janet says hi"),
        ("handle jane.smith on GitHub", "handle ERASED on GitHub"),
        ("Smithsonian visit with Smith", "Smithsonian visit with ERASED"),
        ("", ""),
    ],
)
def test_the_name_and_email_are_replaced_case_insensitively(text, expected):
    placeholder = Student(name="ERASED", email="erased@erased.invalid")
    redact = erasure.redactor(
        name="Jane Smith", email="jane.smith@example.com", placeholder=placeholder
    )
    assert redact(text) == expected


def test_a_korean_name_is_replaced_inside_words_as_written():
    placeholder = Student(name="지운 후보", email="erased@erased.invalid")
    redact = erasure.redactor(name="김민수", email="minsu@example.kr", placeholder=placeholder)
    assert redact("김민수님 면접 (minsu@example.kr)") == "지운 후보님 면접 (erased@erased.invalid)"


def test_the_erase_candidate_command_prints_what_it_removed(full, jane, monkeypatch):
    out = StringIO()
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    call_command("erase_candidate", str(jane.pk), stdout=out)
    text = out.getvalue()
    record = Erasure.objects.get()
    assert f"Erased candidate {jane.pk} (erasure #{record.pk})" in text
    assert "conversations: 3" in text and "audio files: 1" in text
    assert "This erases the data of Jane Smith" in text  # the question asked first
    assert not Student.objects.filter(pk=jane.pk).exists()


def test_the_erase_candidate_command_stops_without_a_yes(full, jane, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="Not erased"):
        call_command("erase_candidate", str(jane.pk), stdout=StringIO())
    assert Student.objects.filter(pk=jane.pk).exists()
    assert Conversation.objects.filter(session=full).count() == 3


def test_the_erase_candidate_command_explains_refusals(media, interviewer, jane):
    live = services.create_session(interviewer=interviewer, student=jane, title="Live one")
    services.transition_session(session=live, action="start")
    with pytest.raises(CommandError, match="is live; end it first"):
        call_command("erase_candidate", str(jane.pk), "--yes", stdout=StringIO())
    with pytest.raises(CommandError, match="No candidate 999"):
        call_command("erase_candidate", "999", "--yes", stdout=StringIO())


def test_the_audit_trail_holds_no_candidate_data(full, jane, django_capture_on_commit_callbacks):
    erase(jane, capture=django_capture_on_commit_callbacks)
    trail = json.dumps([[e.action, e.actor_name, e.detail] for e in AuditEntry.objects.all()])
    assert "jane" not in trail.lower() and "smith" not in trail.lower()
