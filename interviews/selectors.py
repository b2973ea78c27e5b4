"""Reads. Querysets are shaped here (select_related, filters) so views and
consumers never build queries of their own."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone

from .exceptions import InvalidInput, NotFound
from .models import (
    AuditEntry,
    Conversation,
    Decision,
    Erasure,
    Interviewer,
    InterviewReport,
    InterviewSession,
    Question,
    SessionEvent,
    Student,
)
from .wire import EventType


def interviewer_list() -> QuerySet[Interviewer]:
    return Interviewer.objects.select_related("user").all()


def student_list() -> QuerySet[Student]:
    return Student.objects.all()


def session_list() -> QuerySet[InterviewSession]:
    return InterviewSession.objects.select_related("interviewer", "student").all()


def parse_uuid(value: object, *, field: str = "session_id") -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(f"{field} must be a UUID, got {value!r}.") from exc


def session_get(lookup: object) -> InterviewSession:
    """By integer id or by UUID (the `session_id`)."""
    qs = session_list()
    text = str(lookup)
    try:
        if text.isascii() and text.isdigit():
            return qs.get(pk=int(text))
        return qs.get(session_id=parse_uuid(text))
    except (InterviewSession.DoesNotExist, InvalidInput) as exc:
        raise NotFound(f"No interview session {text!r}.") from exc


def session_by_uuid(session_uuid: object) -> InterviewSession:
    sid = parse_uuid(session_uuid)
    try:
        return session_list().get(session_id=sid)
    except InterviewSession.DoesNotExist as exc:
        raise NotFound(f"No interview session with session_id {sid}.") from exc


def join_token_valid(session: InterviewSession, token: str) -> bool:
    """The candidate's token matches and the link has not expired."""
    return join_token_matches(session, token) and not join_link_expired(session)


def join_token_matches(session: InterviewSession, token: str) -> bool:
    """Compared in constant time: the time taken says nothing about how much
    of a guessed token was right."""
    return bool(token) and secrets.compare_digest(
        session.join_token.encode("utf-8"), str(token).encode("utf-8")
    )


def join_link_expired(session: InterviewSession) -> bool:
    """Ended (completed or cancelled) more than RT_JOIN_GRACE_MINUTES ago (0: at
    once), or RT_JOIN_TOKEN_TTL_HOURS past the scheduled end."""
    now = timezone.now()
    if session.status in (InterviewSession.Status.COMPLETED, InterviewSession.Status.CANCELLED):
        grace = settings.RT.join_grace_minutes
        if grace <= 0 or session.ended_at is None:
            return True
        return now > session.ended_at + timedelta(minutes=grace)
    ttl = settings.RT.join_token_ttl_hours
    if not ttl or session.scheduled_at is None:
        return False
    ends = session.scheduled_at + timedelta(minutes=session.duration_minutes, hours=ttl)
    return now > ends


def join_url(session: InterviewSession) -> str:
    base = settings.RT.public_base_url.rstrip("/")
    return f"{base}/join/{session.session_id}/?token={session.join_token}"


def dashboard_url(session: InterviewSession | None = None) -> str:
    base = settings.RT.public_base_url.rstrip("/")
    return f"{base}/dashboard/{session.session_id}/" if session else f"{base}/dashboard/"


def question_list(*, session_uuid: object = None, bank_only: bool = False) -> QuerySet[Question]:
    qs = Question.objects.select_related("session").all()
    if session_uuid not in (None, ""):
        qs = qs.filter(session__session_id=parse_uuid(session_uuid))
    elif bank_only:
        qs = qs.filter(session__isnull=True)
    return qs


def session_questions(session: InterviewSession) -> list[Question]:
    return list(session.questions.order_by("order", "id"))


def session_question(session: InterviewSession, question_id: int | None) -> Question | None:
    """The session's question with this id; None for None or another session's question."""
    if question_id is None:
        return None
    return session.questions.filter(pk=question_id).first()


def recent_turns(session: InterviewSession, *, limit: int) -> tuple[tuple[str, str], ...]:
    """The last `limit` conversation rows as (speaker, message), oldest first;
    replies taken back are not part of the conversation."""
    latest = (
        session.conversations.filter(retracted=False)
        .order_by("-id")
        .only("speaker", "message")[:limit]
    )
    return tuple((c.speaker, c.message) for c in reversed(list(latest)))


def conversation_list(
    *, session_uuid: object = None, include_retracted: bool = False
) -> QuerySet[Conversation]:
    """Conversation rows; replies taken back (`retracted`) only when asked for."""
    qs = Conversation.objects.select_related("session", "question").all()
    if session_uuid not in (None, ""):
        qs = qs.filter(session__session_id=parse_uuid(session_uuid))
    if not include_retracted:
        qs = qs.filter(retracted=False)
    return qs


FLAG_VALUES = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def parse_flag(value: object, *, field: str) -> bool:
    """A yes/no query parameter: true/false (also 1/0, yes/no); absent is false."""
    if value in (None, ""):
        return False
    flag = FLAG_VALUES.get(str(value).strip().lower())
    if flag is None:
        raise InvalidInput(f"{field} must be true or false, got {value!r}.")
    return flag


def conversation_get(pk: object) -> Conversation:
    try:
        return Conversation.objects.select_related("session").get(pk=int(str(pk)))
    except (Conversation.DoesNotExist, ValueError) as exc:
        raise NotFound(f"No conversation {pk!r}.") from exc


# Stored files have no public URL; these name the authenticated views that
# serve them (by URL name, so the domain imports no transport).
def conversation_audio_path(conversation: Conversation) -> str | None:
    """`/api/conversations/<id>/audio/`, or None when the turn has no recording."""
    if not conversation.audio_file or not conversation.audio_file.name:
        return None
    return reverse("conversation-audio", kwargs={"pk": conversation.pk})


def report_download_path(report: InterviewReport) -> str:
    """`/api/reports/<id>/download/`: the only way to a report's PDF."""
    return reverse("report-download", kwargs={"pk": report.pk})


def session_transcript(session: InterviewSession) -> list[Conversation]:
    """The conversation as it stands: replies taken back are left out (the
    report, the evaluation and the review read this)."""
    return list(
        session.conversations.filter(retracted=False)
        .select_related("question")
        .order_by("timestamp", "id")
    )


def events_after(
    session: InterviewSession, *, after_seq: int, include_observer_events: bool
) -> list[SessionEvent]:
    qs = SessionEvent.objects.filter(session=session, seq__gt=after_seq)
    if not include_observer_events:
        qs = qs.filter(audience=SessionEvent.Audience.ALL)
    return list(qs.order_by("seq"))


def report_list() -> QuerySet[InterviewReport]:
    return InterviewReport.objects.select_related("session", "session__student").all()


def current_question(session: InterviewSession) -> Question | None:
    """The question the AI interviewer is on: `index` in ai_state (interviewer PlanState)."""
    index = (session.ai_state or {}).get("index", -1)
    if not isinstance(index, int) or index < 0:
        return None
    questions = session_questions(session)
    return questions[index] if index < len(questions) else None


def current_decision(session: InterviewSession) -> Decision | None:
    return session.decisions.order_by("-decided_at", "-id").first()


def audit_trail(session: InterviewSession) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(session=session).order_by("at", "id")


def decision_history(session: InterviewSession) -> list[Decision]:
    """Every decision on the session, newest (the current one) first."""
    return list(session.decisions.select_related("decided_by").order_by("-decided_at", "-id"))


def observer_events(session: InterviewSession) -> list[SessionEvent]:
    """Staff notes and the suggestions sent to the AI, in the order they were made."""
    return list(
        SessionEvent.objects.filter(
            session=session, type__in=(EventType.OBSERVER_NOTE, EventType.OBSERVER_SUGGEST)
        ).order_by("seq")
    )


def session_report(session: InterviewSession) -> InterviewReport | None:
    return InterviewReport.objects.filter(session=session).first()


# --- candidates, the CSV export and erasures ----------------------------------


def _with_decisions(qs: QuerySet[InterviewSession]) -> QuerySet[InterviewSession]:
    """Each session's decisions prefetched newest first: `.decisions.all()[0]`
    (through `latest_decision`) is the current one without a query per row."""
    return qs.prefetch_related(
        Prefetch("decisions", queryset=Decision.objects.order_by("-decided_at", "-id"))
    )


def latest_decision(session: InterviewSession) -> Decision | None:
    """current_decision for a session from candidate_list / export_sessions (prefetched)."""
    decisions = list(session.decisions.all())
    return decisions[0] if decisions else None


def candidate_list() -> QuerySet[Student]:
    """Every candidate, newest first, with their interviews (newest first) and decisions."""
    sessions = _with_decisions(InterviewSession.objects.select_related("interviewer"))
    return Student.objects.order_by("-id").prefetch_related(
        Prefetch("sessions", queryset=sessions.order_by("-id")), "erasures"
    )


def candidate_get(student_id: object) -> Student:
    try:
        return candidate_list().get(pk=int(str(student_id)))
    except (Student.DoesNotExist, ValueError) as exc:
        raise NotFound(f"No candidate {student_id!r}.") from exc


def export_sessions() -> QuerySet[InterviewSession]:
    """Every interview for the CSV export, oldest first, with what each row shows."""
    return _with_decisions(session_list()).order_by("id")


def erasure_get(erasure_id: object) -> Erasure:
    try:
        return Erasure.objects.select_related("placeholder").get(pk=int(str(erasure_id)))
    except (Erasure.DoesNotExist, ValueError) as exc:
        raise NotFound(f"No erasure {erasure_id!r}.") from exc
