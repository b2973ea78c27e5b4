"""Writes. Keyword-only arguments, one transaction each; events are persisted
in the same transaction as the change they describe and broadcast only after
it commits (persist before broadcast)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.core.files.base import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import events
from .exceptions import InvalidInput, InvalidTransition
from .models import (
    Conversation,
    Interviewer,
    InterviewSession,
    Question,
    SessionEvent,
    Student,
    new_join_token,
)

Status = InterviewSession.Status

# Which status each action may leave from; anything else is a 409.
_TRANSITIONS: dict[str, tuple[set[str], str]] = {
    "start": ({Status.SCHEDULED}, Status.IN_PROGRESS),
    "end": ({Status.IN_PROGRESS}, Status.COMPLETED),
    "cancel": ({Status.SCHEDULED, Status.IN_PROGRESS}, Status.CANCELLED),
}


def _apply(instance, changes: Mapping[str, Any]):
    for name, value in changes.items():
        setattr(instance, name, value)
    instance.full_clean()
    instance.save()
    return instance


# --- people -----------------------------------------------------------------


@transaction.atomic
def create_interviewer(*, name: str, email: str, user=None) -> Interviewer:
    return _apply(Interviewer(), {"name": name, "email": email, "user": user})


@transaction.atomic
def update_interviewer(*, interviewer: Interviewer, changes: Mapping[str, Any]) -> Interviewer:
    return _apply(interviewer, changes)


@transaction.atomic
def create_student(*, name: str, email: str) -> Student:
    return _apply(Student(), {"name": name, "email": email})


@transaction.atomic
def update_student(*, student: Student, changes: Mapping[str, Any]) -> Student:
    return _apply(student, changes)


# --- sessions ---------------------------------------------------------------


@transaction.atomic
def create_session(
    *,
    interviewer: Interviewer,
    student: Student,
    title: str,
    description: str = "",
    duration_minutes: int = 30,
    scheduled_at: datetime | None = None,
    language: str | None = None,
) -> InterviewSession:
    session = InterviewSession(
        interviewer=interviewer,
        student=student,
        title=title,
        description=description or "",
        duration_minutes=duration_minutes,
        scheduled_at=scheduled_at,
    )
    if language:
        session.language = language
    _apply(session, {})
    _record_state(session)
    return session


@transaction.atomic
def update_session(*, session: InterviewSession, changes: Mapping[str, Any]) -> InterviewSession:
    return _apply(session, changes)


@transaction.atomic
def transition_session(*, session: InterviewSession, action: str) -> InterviewSession:
    """start / end / cancel; raises InvalidTransition (409) from a wrong status."""
    allowed, target = _TRANSITIONS[action]
    locked = InterviewSession.objects.select_for_update().get(pk=session.pk)
    if locked.status not in allowed:
        raise InvalidTransition(
            f"Cannot {action} a session that is {locked.get_status_display().lower()} "
            f"(status '{locked.status}')."
        )
    now = timezone.now()
    locked.status = target
    if target == Status.IN_PROGRESS:
        locked.started_at = now
    else:
        locked.ended_at = now
    locked.save(update_fields=["status", "started_at", "ended_at", "updated_at"])
    _record_state(locked)
    if target != Status.IN_PROGRESS:
        record_event(session=locked, type_="interview.ended", payload={"reason": action})
    session.refresh_from_db()
    return session


@transaction.atomic
def rotate_join_token(*, session: InterviewSession) -> InterviewSession:
    session.join_token = new_join_token()
    session.save(update_fields=["join_token", "updated_at"])
    return session


@transaction.atomic
def save_ai_state(*, session: InterviewSession, state: dict[str, Any]) -> None:
    InterviewSession.objects.filter(pk=session.pk).update(ai_state=state)
    session.ai_state = state


@transaction.atomic
def save_evaluation(*, session: InterviewSession, evaluation: dict[str, Any]) -> None:
    InterviewSession.objects.filter(pk=session.pk).update(evaluation=evaluation)
    session.evaluation = evaluation


def _record_state(session: InterviewSession) -> SessionEvent:
    return record_event(
        session=session,
        type_="session.state",
        payload={
            "status": session.status,
            "started_at": events.iso(session.started_at),
            "ended_at": events.iso(session.ended_at),
            "title": session.title,
        },
    )


# --- questions --------------------------------------------------------------

QUESTION_FIELDS = ("session", "question_text", "category", "difficulty", "order", "expected_answer")


@transaction.atomic
def create_question(
    *,
    question_text: str,
    session: InterviewSession | None = None,
    category: str = "",
    difficulty: str = Question.Difficulty.MEDIUM,
    order: int = 0,
    expected_answer: str = "",
) -> Question:
    return _apply(
        Question(),
        {
            "session": session,
            "question_text": question_text,
            "category": category or "",
            "difficulty": difficulty,
            "order": order,
            "expected_answer": expected_answer or "",
        },
    )


@transaction.atomic
def update_question(*, question: Question, changes: Mapping[str, Any]) -> Question:
    return _apply(question, changes)


@transaction.atomic
def bulk_create_questions(*, items: Iterable[Mapping[str, Any]]) -> list[Question]:
    """All or nothing: the transaction rolls back if any item fails."""
    created = []
    for index, item in enumerate(items):
        try:
            created.append(create_question(**{k: item[k] for k in QUESTION_FIELDS if k in item}))
        except Exception as exc:
            raise InvalidInput(f"questions[{index}]: {exc}") from exc
    return created


@transaction.atomic
def copy_questions_from_bank(
    *, session: InterviewSession, questions: Iterable[Question]
) -> list[Question]:
    start = session.questions.count()
    return [
        create_question(
            session=session,
            question_text=q.question_text,
            category=q.category,
            difficulty=q.difficulty,
            order=start + i + 1,
            expected_answer=q.expected_answer,
        )
        for i, q in enumerate(questions)
    ]


# --- events and conversation ------------------------------------------------


@transaction.atomic
def record_event(
    *,
    session: InterviewSession,
    type_: str,
    payload: dict[str, Any],
    audience: str = SessionEvent.Audience.ALL,
) -> SessionEvent:
    """Persist an event with the session's next seq; broadcast on commit."""
    # The UPDATE takes the row's write lock, so concurrent writers get distinct seqs.
    InterviewSession.objects.filter(pk=session.pk).update(last_seq=F("last_seq") + 1)
    seq = InterviewSession.objects.values_list("last_seq", flat=True).get(pk=session.pk)
    event = SessionEvent.objects.create(
        session=session, seq=seq, type=type_, payload=payload, audience=audience
    )
    message = events.wire(event, session.session_id)
    transaction.on_commit(lambda: events.broadcast(message, audience=audience))
    return event


@transaction.atomic
def add_conversation(
    *,
    session: InterviewSession,
    speaker: str,
    message: str,
    question: Question | None = None,
    audio_file: File | None = None,
    speech: dict[str, Any] | None = None,
) -> Conversation:
    """A conversation row plus its turn.committed / ai.message event."""
    if speaker not in Conversation.Speaker.values:
        raise InvalidInput(f"speaker must be one of {Conversation.Speaker.values}")
    conversation = Conversation(
        session=session,
        speaker=speaker,
        message=message,
        question=question,
        speech=speech or {},
    )
    if audio_file is not None:
        conversation.audio_file.save(audio_file.name, audio_file, save=False)
    conversation.save()
    event = record_event(
        session=session,
        type_="turn.committed" if speaker == Conversation.Speaker.STUDENT else "ai.message",
        payload={
            "conversation_id": conversation.pk,
            "speaker": speaker,
            "text": message,
            "question_id": question.pk if question else None,
        },
    )
    conversation.seq = event.seq
    conversation.save(update_fields=["seq"])
    return conversation


@transaction.atomic
def add_observer_event(
    *, session: InterviewSession, type_: str, text: str, author: str, ref_seq: int | None = None
) -> SessionEvent:
    payload: dict[str, Any] = {"text": text, "author": author}
    if type_ == "observer.note":
        payload["ref_seq"] = ref_seq
    return record_event(
        session=session, type_=type_, payload=payload, audience=SessionEvent.Audience.OBSERVERS
    )
