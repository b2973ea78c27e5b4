"""Writes. Keyword-only arguments, one transaction each (end_session says why
it is not); events are persisted in the same transaction as the change they
describe and broadcast only after it commits (persist before broadcast)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import transaction
from django.db.models import F, Max, ProtectedError
from django.utils import timezone

from . import events, selectors, signals
from .exceptions import DomainError, InUse, InvalidInput, InvalidTransition, NotFound
from .models import (
    AuditEntry,
    Conversation,
    Decision,
    Interviewer,
    InterviewReport,
    InterviewSession,
    Question,
    SessionEvent,
    Student,
    new_join_token,
)
from .wire import SERVER_EVENTS, Audience, EventType

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
def delete_interviewer(*, interviewer: Interviewer) -> None:
    _delete_person(interviewer, "Interviewer")


@transaction.atomic
def create_student(*, name: str, email: str) -> Student:
    return _apply(Student(), {"name": name, "email": email})


@transaction.atomic
def update_student(*, student: Student, changes: Mapping[str, Any]) -> Student:
    return _apply(student, changes)


@transaction.atomic
def delete_student(*, student: Student) -> None:
    _delete_person(student, "Student")


def _delete_person(person: Interviewer | Student, label: str) -> None:
    # Sessions PROTECT their people: the transcript and report must keep them.
    try:
        person.delete()
    except ProtectedError as exc:
        count = len(exc.protected_objects)
        raise InUse(
            f"{label} {person.pk} has {count} interview session(s); delete those sessions "
            f"or move them to another {label.lower()} first."
        ) from exc


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
    extra_time_s: float = 0.0,
) -> InterviewSession:
    session = InterviewSession(
        interviewer=interviewer,
        student=student,
        title=title,
        description=description or "",
        duration_minutes=duration_minutes,
        scheduled_at=scheduled_at,
        extra_time_s=extra_time_s,
    )
    if language:
        session.language = language
    _apply(session, {})
    _record_state(session)
    return session


# Owned by transitions, the join link and the event log, never by an edit.
SESSION_MANAGED_FIELDS = frozenset(
    {"status", "started_at", "ended_at", "session_id", "join_token", "last_seq"}
)


# The accommodation can change until the interview is over (scheduled or in progress).
_EXTRA_TIME_EDITABLE = {Status.SCHEDULED, Status.IN_PROGRESS}


@transaction.atomic
def update_session(
    *, session: InterviewSession, changes: Mapping[str, Any], actor=None
) -> InterviewSession:
    """An edit. A change of `extra_time_s` (the accommodation) is refused once
    the interview is over (409) and, with `actor`, is a line of the audit trail."""
    managed = sorted(SESSION_MANAGED_FIELDS.intersection(changes))
    if managed:
        raise InvalidInput(
            f"{', '.join(managed)} cannot be edited; the status changes through "
            "POST /api/sessions/{id}/start/, /end/ or /cancel/."
        )
    before = session.extra_time_s
    extra_time_changed = "extra_time_s" in changes and changes["extra_time_s"] != before
    if extra_time_changed and session.status not in _EXTRA_TIME_EDITABLE:
        raise InvalidTransition(
            "The extra time can change only before or during the interview; "
            f"this one is {session.get_status_display().lower()}."
        )
    for name, value in changes.items():
        setattr(session, name, value)
    session.full_clean()
    # Only the edited fields: the row's status, event counter and AI state
    # belong to the live interview, which may have moved on since `session`
    # was read.
    session.save(update_fields=[*changes, "updated_at"])
    if extra_time_changed and actor is not None:
        # No values: an accommodation says something about the candidate, and
        # the trail outlives erasure (record_audit). The session holds the value.
        record_audit(session=session, action=AuditEntry.Action.ACCOMMODATION, actor=actor)
    return session


def set_extra_time(
    *, session: InterviewSession, extra_time_s: float, actor=None
) -> InterviewSession:
    """The accommodation: extra seconds of silence before an answer is taken as
    finished (0 to 30), while the interview is scheduled or in progress."""
    return update_session(session=session, changes={"extra_time_s": extra_time_s}, actor=actor)


@transaction.atomic
def delete_session(*, session: InterviewSession) -> None:
    """Cascades to questions, conversations, events and the report; not while live."""
    locked = InterviewSession.objects.select_for_update().get(pk=session.pk)
    if locked.status == Status.IN_PROGRESS:
        raise InUse("The session is in progress; end or cancel it before deleting it.")
    files = [c.audio_file for c in locked.conversations.exclude(audio_file="")]
    files += [r.pdf_file for r in InterviewReport.objects.filter(session=locked)]
    locked.delete()
    # Stored files outlive rows; remove them once the delete is committed.
    for stored in files:
        if stored.name:
            transaction.on_commit(lambda f=stored: f.storage.delete(f.name))


def _target_status(session: InterviewSession, action: str) -> str:
    """The status `action` leads to from the session's; InvalidTransition (409) if none."""
    allowed, target = _TRANSITIONS[action]
    if session.status not in allowed:
        raise InvalidTransition(
            f"Cannot {action} a session that is {session.get_status_display().lower()} "
            f"(status '{session.status}')."
        )
    return target


# The audit trail's word for each transition a staff member makes.
_TRANSITION_AUDIT = {
    "start": AuditEntry.Action.STARTED,
    "end": AuditEntry.Action.ENDED,
    "cancel": AuditEntry.Action.CANCELLED,
}


@transaction.atomic
def transition_session(*, session: InterviewSession, action: str, actor=None) -> InterviewSession:
    """start / end / cancel; raises InvalidTransition (409) from a wrong status.
    With `actor` (a staff user), also a line of the audit trail."""
    locked = InterviewSession.objects.select_for_update().get(pk=session.pk)
    target = _target_status(locked, action)
    now = timezone.now()
    locked.status = target
    if target == Status.IN_PROGRESS:
        locked.started_at = now
    else:
        locked.ended_at = now
    locked.save(update_fields=["status", "started_at", "ended_at", "updated_at"])
    _record_state(locked)
    # interview.ended is said once: by the AI's closing words, or here if the AI never closed.
    if target != Status.IN_PROGRESS and not (locked.ai_state or {}).get("closed"):
        record_event(session=locked, type_=EventType.INTERVIEW_ENDED, payload={"reason": action})
    if actor is not None:
        record_audit(session=locked, action=_TRANSITION_AUDIT[action], actor=actor)
    session.refresh_from_db()
    return session


def end_session(*, session: InterviewSession, reason: str, actor=None) -> InterviewSession:
    """in_progress -> completed, the way every caller ends a session (REST, admin).

    Sends `signals.session_ending` first, so the live app's receiver has the AI
    say its closing words when its conversation is open. Not one transaction on
    purpose: the receivers' writes commit (and are broadcast) as they are made,
    the AI's words while they stream; then the status change is its own
    transaction, which checks the status again under the row lock. Call it
    outside `transaction.atomic`. `aend_session` is the same for the event loop.
    """
    _check_can_end(session)
    signals.session_ending.send(sender=InterviewSession, session=session, reason=reason)
    return transition_session(session=session, action="end", actor=actor)


async def aend_session(*, session: InterviewSession, reason: str) -> InterviewSession:
    """end_session from the event loop (the candidate's `interview.end`): the
    same steps, the database work in its thread and the receivers awaited."""
    await database_sync_to_async(_check_can_end)(session)
    await signals.session_ending.asend(sender=InterviewSession, session=session, reason=reason)
    return await database_sync_to_async(transition_session)(session=session, action="end")


def _check_can_end(session: InterviewSession) -> None:
    # Before session_ending: no closing words for a session that cannot end.
    session.refresh_from_db(fields=["status"])
    _target_status(session, "end")


@transaction.atomic
def rotate_join_token(*, session: InterviewSession, actor=None) -> InterviewSession:
    session.join_token = new_join_token()
    session.save(update_fields=["join_token", "updated_at"])
    if actor is not None:
        record_audit(session=session, action=AuditEntry.Action.LINK_ROTATED, actor=actor)
    return session


@transaction.atomic
def save_ai_state(*, session: InterviewSession, state: dict[str, Any]) -> None:
    InterviewSession.objects.filter(pk=session.pk).update(ai_state=state)
    session.ai_state = state


# The one key of ai_state (the interviewer's state, opaque here otherwise) the
# domain writes: observers' suggestions the interviewer has not asked yet.
AI_SUGGESTIONS = "suggestions"


@transaction.atomic
def queue_suggestion(
    *, session_uuid: uuid.UUID | str, text: str, author: str, actor=None
) -> SessionEvent:
    """An observer's follow-up: appended to the session's pending suggestions in
    ai_state (under the row lock) and recorded as `observer.suggest`."""
    try:
        locked = InterviewSession.objects.select_for_update().get(session_id=session_uuid)
    except InterviewSession.DoesNotExist as exc:
        raise NotFound(f"No interview session with session_id {session_uuid}.") from exc
    state = dict(locked.ai_state or {})
    state[AI_SUGGESTIONS] = [*state.get(AI_SUGGESTIONS, []), text]
    save_ai_state(session=locked, state=state)
    return add_observer_event(
        session=locked, type_=EventType.OBSERVER_SUGGEST, text=text, author=author, actor=actor
    )


@transaction.atomic
def save_ai_reply(
    *,
    session: InterviewSession,
    message: str,
    question_id: int | None,
    ai_state: dict[str, Any],
    used_suggestion: str | None = None,
    warnings: Sequence[dict[str, Any]] = (),
    closing_reason: str | None = None,
    metrics: dict[str, Any] | None = None,
) -> Conversation:
    """The AI's reply, saved whole: its `observer.warning`s, the conversation row
    (`ai.message`), the interviewer's new `ai_state`, `interview.ended` when
    these were the closing words (`closing_reason` not None) and the turn's
    `metrics.turn` (observers only, kept for the latency chart and the report).

    Observers' suggestions may have arrived while the reply streamed: the saved
    pending suggestions are the stored ones (read under the row lock), less
    `used_suggestion`, the one this reply asked; the rest of `ai_state` is saved
    as given.
    """
    locked = InterviewSession.objects.select_for_update().only("ai_state").get(pk=session.pk)
    pending = list((locked.ai_state or {}).get(AI_SUGGESTIONS, []))
    if used_suggestion is not None and used_suggestion in pending:
        pending.remove(used_suggestion)
    for warning in warnings:
        record_event(session=session, type_=EventType.OBSERVER_WARNING, payload=warning)
    conversation = add_conversation(
        session=session,
        speaker=Conversation.Speaker.AI,
        message=message,
        question=selectors.session_question(session, question_id),
    )
    save_ai_state(session=session, state={**ai_state, AI_SUGGESTIONS: pending})
    if closing_reason is not None:
        record_event(
            session=session, type_=EventType.INTERVIEW_ENDED, payload={"reason": closing_reason}
        )
    if metrics is not None:
        record_event(session=session, type_=EventType.METRICS_TURN, payload=metrics)
    return conversation


@transaction.atomic
def save_evaluation(*, session: InterviewSession, evaluation: dict[str, Any]) -> None:
    InterviewSession.objects.filter(pk=session.pk).update(evaluation=evaluation)
    session.evaluation = evaluation


@transaction.atomic
def announce_session(*, session: InterviewSession) -> SessionEvent:
    """The session.state event of a session made outside create_session (the admin)."""
    return _record_state(session)


def _record_state(session: InterviewSession) -> SessionEvent:
    return record_event(
        session=session,
        type_=EventType.SESSION_STATE,
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
    order: int | None = None,
    expected_answer: str = "",
) -> Question:
    """`order` None appends: one after the highest order of the session (or the bank)."""
    if order is None:
        order = _next_order(session)
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


def _next_order(session: InterviewSession | None) -> int:
    highest = Question.objects.filter(session=session).aggregate(m=Max("order"))["m"]
    return (highest or 0) + 1


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
        except ValidationError as exc:
            raise bulk_item_error(index, exc.message_dict) from exc
        except DomainError as exc:
            raise bulk_item_error(index, {"detail": [exc.message]}) from exc
    return created


def bulk_item_error(index: int, errors: Mapping[str, Any]) -> InvalidInput:
    """The 400 of an all-or-nothing bulk write: names the failing item's index."""
    flat = "; ".join(
        f"{field}: {' '.join(map(str, msgs if isinstance(msgs, list) else [msgs]))}"
        for field, msgs in errors.items()
    )
    return InvalidInput(
        f"questions[{index}] is invalid ({flat}); nothing was saved.",
        details={"index": index, "errors": dict(errors)},
    )


@transaction.atomic
def copy_questions_from_bank(
    *, session: InterviewSession, questions: Iterable[Question]
) -> list[Question]:
    return [
        create_question(
            session=session,
            question_text=q.question_text,
            category=q.category,
            difficulty=q.difficulty,
            expected_answer=q.expected_answer,
        )
        for q in questions
    ]


# --- events and conversation ------------------------------------------------


@transaction.atomic
def record_event(
    *,
    session: InterviewSession,
    type_: EventType,
    payload: dict[str, Any],
) -> SessionEvent:
    """Persist an event with the session's next seq; broadcast on commit to the
    audience the wire registry declares for its type."""
    spec = SERVER_EVENTS[type_]
    if not spec.persisted:
        raise ValueError(f"{type_} is not a persisted event type")
    audience = (
        SessionEvent.Audience.OBSERVERS
        if spec.audience is Audience.OBSERVERS
        else SessionEvent.Audience.ALL
    )
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
        type_=(
            EventType.TURN_COMMITTED
            if speaker == Conversation.Speaker.STUDENT
            else EventType.AI_MESSAGE
        ),
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
    *,
    session: InterviewSession,
    type_: EventType,
    text: str,
    author: str,
    ref_seq: int | None = None,
    actor=None,
) -> SessionEvent:
    """An observer's note or suggestion (observers only, kept for the report);
    with `actor`, the staff user, also a line of the audit trail."""
    payload: dict[str, Any] = {"text": text, "author": author}
    if type_ == EventType.OBSERVER_NOTE:
        payload["ref_seq"] = ref_seq
    event = record_event(session=session, type_=type_, payload=payload)
    if actor is not None:
        action = (
            AuditEntry.Action.NOTE
            if type_ == EventType.OBSERVER_NOTE
            else AuditEntry.Action.SUGGESTION
        )
        record_audit(session=session, action=action, actor=actor, detail={"seq": event.seq})
    return event


# --- staff actions: decisions and the audit trail -----------------------------


def _actor_name(user) -> str:
    return user.get_username() if user is not None else ""


@transaction.atomic
def record_audit(
    *,
    session: InterviewSession | None,
    action: str,
    actor=None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """One line of the audit trail. `detail` holds ids and counts, never
    candidate data, so the trail survives erasure unchanged."""
    if action not in AuditEntry.Action.values:
        raise InvalidInput(f"action must be one of {AuditEntry.Action.values}")
    return AuditEntry.objects.create(
        session=session,
        action=action,
        actor=actor,
        actor_name=_actor_name(actor),
        detail=dict(detail or {}),
    )


@transaction.atomic
def record_decision(
    *, session: InterviewSession, outcome: str, rationale: str, decided_by=None
) -> Decision:
    """A hiring decision (advance, hold, reject) with its rationale; the newest
    is the session's current decision. Only an ended interview can be decided."""
    if outcome not in Decision.Outcome.values:
        raise InvalidInput(
            f"outcome must be one of {Decision.Outcome.values}", details={"field": "outcome"}
        )
    rationale = (rationale or "").strip()
    if not rationale:
        raise InvalidInput("A rationale is required.", details={"field": "rationale"})
    if session.status not in (Status.COMPLETED, Status.CANCELLED):
        raise InvalidTransition(
            f"Only an ended interview can be decided; this one is {session.get_status_display().lower()}."
        )
    decision = Decision.objects.create(
        session=session,
        outcome=outcome,
        rationale=rationale,
        decided_by=decided_by,
        decided_by_name=_actor_name(decided_by),
    )
    record_audit(
        session=session,
        action=AuditEntry.Action.DECISION,
        actor=decided_by,
        detail={"decision_id": decision.pk, "outcome": outcome},
    )
    return decision


# --- a whole new interview (the dashboard's form) -------------------------------


@transaction.atomic
def create_interview(
    *,
    title: str,
    interviewer: Interviewer | None = None,
    interviewer_name: str = "",
    interviewer_email: str = "",
    student: Student | None = None,
    student_name: str = "",
    student_email: str = "",
    duration_minutes: int = 30,
    language: str | None = None,
    scheduled_at: datetime | None = None,
    description: str = "",
    questions: Sequence[str] = (),
    bank_questions: Sequence[Question] = (),
    extra_time_s: float = 0.0,
    created_by=None,
) -> InterviewSession:
    """The session with its people and plan, all or nothing: a new candidate or
    interviewer is created from name and email when none is given; the typed
    questions come first, then copies of the bank's. Audited as `created`."""
    if interviewer is None:
        interviewer = create_interviewer(name=interviewer_name, email=interviewer_email)
    if student is None:
        student = create_student(name=student_name, email=student_email)
    session = create_session(
        interviewer=interviewer,
        student=student,
        title=title,
        description=description,
        duration_minutes=duration_minutes,
        scheduled_at=scheduled_at,
        language=language,
        extra_time_s=extra_time_s,
    )
    for order, text in enumerate(questions, start=1):
        create_question(session=session, question_text=text, order=order)
    copy_questions_from_bank(session=session, questions=bank_questions)
    record_audit(
        session=session,
        action=AuditEntry.Action.CREATED,
        actor=created_by,
        detail={"questions": len(questions) + len(bank_questions)},
    )
    return session
