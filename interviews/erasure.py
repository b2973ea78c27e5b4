"""Erasing a candidate's data (a data subject's request) and purging old
recordings (the retention setting). Both delete stored files only after their
transaction commits, so a rollback leaves every file in place.

What erasure keeps: each interview row (title, dates, status, questions,
`last_seq`) and its decisions, pointing at an anonymous placeholder candidate,
with the candidate's name and email replaced in the title, description,
question texts and decision rationales; the audit trail (it holds no candidate
data); an `Erasure` record. Everything else about the candidate goes: the
Student row, every transcript line (the AI's quote and address them too), the
recordings, the events (notes and suggestions among them), the reports and
their PDFs, the evaluation, the interviewer's text state, and the names in the
admin's history. A scheduled interview is cancelled and its join link
replaced: nobody is left to take it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import Storage
from django.db import transaction
from django.utils import timezone

from . import services
from .exceptions import InvalidTransition, NotFound
from .models import (
    AuditEntry,
    Conversation,
    Decision,
    Erasure,
    InterviewReport,
    InterviewSession,
    Question,
    SessionEvent,
    Student,
    new_join_token,
)
from .wire import EventType

Status = InterviewSession.Status
PLACEHOLDER_NAME = "Erased candidate #{n}"
PLACEHOLDER_EMAIL = "erased-{n}@erased.invalid"
# Name parts and an email's local part shorter than this are left alone: too
# likely to be an ordinary word ("Al", "Jo").
MIN_PART_CHARS = 2
MIN_LOCAL_PART_CHARS = 3


def is_placeholder(student: Student) -> bool:
    return Erasure.objects.filter(placeholder=student).exists()


def redactor(*, name: str, email: str, placeholder: Student) -> Callable[[str], str]:
    """text -> text with the candidate's email replaced by the placeholder's and
    their name by the placeholder's, case-insensitively. The whole name and
    email are replaced wherever they occur; the email's local part ("jane.smith")
    and each part of the name only as whole words, so "Jane" goes but "Janet"
    stays. One pass: replaced text is never matched again."""
    email = email.strip()
    local = email.split("@")[0] if "@" in email else ""
    parts = [p for p in name.split() if len(p) >= MIN_PART_CHARS]
    # (length of the text matched, pattern, kind)
    alternatives: list[tuple[int, str, str]] = []
    if email:
        alternatives.append((len(email), re.escape(email), "email"))
    if name.split():
        whole = r"\s+".join(map(re.escape, name.split()))
        alternatives.append((len(name), whole, "name"))
    if len(local) >= MIN_LOCAL_PART_CHARS and not local.isdigit():
        alternatives.append((len(local), rf"(?<!\w){re.escape(local)}(?!\w)", "name"))
    alternatives += [(len(p), rf"(?<!\w){re.escape(p)}(?!\w)", "name") for p in parts]
    if not alternatives:
        return lambda text: text
    # Longest first, so at one position the whole name wins over its first part.
    ordered = sorted(alternatives, key=lambda alt: alt[0], reverse=True)
    pattern = re.compile(
        "|".join(f"(?P<{kind}{i}>{p})" for i, (_, p, kind) in enumerate(ordered)),
        re.IGNORECASE,
    )

    def replace(match: re.Match) -> str:
        kind = match.lastgroup or ""
        return placeholder.email if kind.startswith("email") else placeholder.name

    return lambda text: pattern.sub(replace, text or "")


def _delete_files_on_commit(storage: Storage, names: list[str]) -> None:
    for name in names:
        transaction.on_commit(lambda n=name: storage.delete(n))


def _text_state(state: dict | None) -> dict:
    """The interviewer's state without its text (summary, notes, suggestions):
    its numbers and flags (progress, whether it closed) carry no candidate data."""
    return {
        key: value
        for key, value in (state or {}).items()
        if value is None or isinstance(value, bool | int | float)
    }


@transaction.atomic
def erase_student(*, student: Student, erased_by=None) -> Erasure:
    """Erase a candidate's data (see the module's docstring); one transaction.

    Refused (InvalidTransition, 409) while one of their interviews is in
    progress, and for an erasure's placeholder (nothing left to erase).
    """
    locked = Student.objects.select_for_update().filter(pk=student.pk).first()
    if locked is None:
        raise NotFound(f"No candidate {student.pk}.")
    if is_placeholder(locked):
        raise InvalidTransition(
            f"{locked.name} is the anonymous placeholder of an earlier erasure; "
            "there is no candidate data left to erase."
        )
    sessions = list(InterviewSession.objects.select_for_update().filter(student=locked))
    live = [s for s in sessions if s.status == Status.IN_PROGRESS]
    if live:
        raise InvalidTransition(
            f"The interview “{live[0].title}” is live; end it first, then erase "
            "this candidate's data."
        )
    erasure = Erasure.objects.create(
        erased_by=erased_by, erased_by_name=erased_by.get_username() if erased_by else ""
    )
    placeholder = services.create_student(
        name=PLACEHOLDER_NAME.format(n=erasure.pk), email=PLACEHOLDER_EMAIL.format(n=erasure.pk)
    )
    redact = redactor(name=locked.name, email=locked.email, placeholder=placeholder)
    ids = [s.pk for s in sessions]
    removed = {
        "interviews": len(sessions),
        **_remove_transcripts(ids),
        **_remove_events(ids),
        **_remove_reports(ids),
        "evaluations": sum(1 for s in sessions if s.evaluation),
        **_anonymise_sessions(sessions, placeholder, redact),
        **_anonymise_texts(ids, redact),
        "admin_history_entries": _anonymise_admin_history(locked, sessions, placeholder),
    }
    locked.delete()
    erasure.placeholder = placeholder
    erasure.removed = removed
    erasure.save(update_fields=["placeholder", "removed"])
    for session in sessions:
        services.record_audit(
            session=session,
            action=AuditEntry.Action.ERASURE,
            actor=erased_by,
            detail={"erasure_id": erasure.pk, "removed": removed},
        )
    return erasure


def _remove_transcripts(session_ids: list[int]) -> dict[str, int]:
    rows = Conversation.objects.filter(session_id__in=session_ids)
    audio = [n for n in rows.values_list("audio_file", flat=True) if n]
    _delete_files_on_commit(Conversation.audio_file.field.storage, audio)
    count = rows.count()
    rows.delete()
    return {"conversations": count, "audio_files": len(audio)}


def _remove_events(session_ids: list[int]) -> dict[str, int]:
    rows = SessionEvent.objects.filter(session_id__in=session_ids)
    types = list(rows.values_list("type", flat=True))
    notes = types.count(EventType.OBSERVER_NOTE)
    suggestions = types.count(EventType.OBSERVER_SUGGEST)
    rows.delete()
    return {"events": len(types) - notes - suggestions, "notes": notes, "suggestions": suggestions}


def _remove_reports(session_ids: list[int]) -> dict[str, int]:
    rows = InterviewReport.objects.filter(session_id__in=session_ids)
    files = [n for n in rows.values_list("pdf_file", flat=True) if n]
    _delete_files_on_commit(InterviewReport.pdf_file.field.storage, files)
    count = rows.count()
    rows.delete()
    return {"reports": count, "report_files": len(files)}


def _anonymise_sessions(
    sessions: list[InterviewSession], placeholder: Student, redact: Callable[[str], str]
) -> dict[str, int]:
    cancelled = 0
    title_limit = InterviewSession.title.field.max_length
    for session in sessions:
        session.student = placeholder
        session.title = redact(session.title)[:title_limit]
        session.description = redact(session.description)
        session.evaluation = None
        session.ai_state = _text_state(session.ai_state)
        # An accommodation says something about the candidate (a need for time).
        session.extra_time_s = 0.0
        fields = ["student", "title", "description", "evaluation", "ai_state", "extra_time_s"]
        fields.append("updated_at")
        if session.status == Status.SCHEDULED:
            # Nobody is left to take it; the link the candidate was sent stops working.
            session.status, session.ended_at = Status.CANCELLED, timezone.now()
            session.join_token = new_join_token()
            fields += ["status", "ended_at", "join_token"]
            cancelled += 1
        session.save(update_fields=fields)
    return {"interviews_cancelled": cancelled}


def _anonymise_texts(session_ids: list[int], redact: Callable[[str], str]) -> dict[str, int]:
    rationales = 0
    for decision in Decision.objects.filter(session_id__in=session_ids):
        text = redact(decision.rationale)
        if text != decision.rationale:
            decision.rationale = text
            decision.save(update_fields=["rationale"])
            rationales += 1
    questions = 0
    for question in Question.objects.filter(session_id__in=session_ids):
        text, expected = redact(question.question_text), redact(question.expected_answer)
        if (text, expected) != (question.question_text, question.expected_answer):
            question.question_text, question.expected_answer = text, expected
            question.save(update_fields=["question_text", "expected_answer"])
            questions += 1
    return {"decision_rationales_anonymised": rationales, "questions_anonymised": questions}


def _anonymise_admin_history(
    student: Student, sessions: list[InterviewSession], placeholder: Student
) -> int:
    """The admin's "recent actions" name objects by their str(): the candidate's
    name and email for the Student, the name in each session's."""
    types = ContentType.objects.get_for_models(Student, InterviewSession)
    changed = LogEntry.objects.filter(
        content_type=types[Student], object_id=str(student.pk)
    ).update(object_repr=str(placeholder), change_message="")
    for session in sessions:
        changed += LogEntry.objects.filter(
            content_type=types[InterviewSession], object_id=str(session.pk)
        ).update(object_repr=str(session)[:200])
    return changed


# --- retention ----------------------------------------------------------------


@dataclass(frozen=True)
class PurgeResult:
    recordings: int  # conversation rows whose recording was (or would be) removed
    cutoff: datetime  # recordings of answers before it go


def purge_recordings(*, older_than_days: int, dry_run: bool = False) -> PurgeResult:
    """Delete the recorded audio of answers older than `older_than_days` and
    clear their `audio_file` (the transcript text stays). Recordings of a live
    interview are left alone. Idempotent: a second run finds nothing."""
    if older_than_days < 0:
        raise ValueError("older_than_days must be 0 or more")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    rows = (
        Conversation.objects.filter(timestamp__lt=cutoff)
        .exclude(audio_file="")
        .exclude(audio_file__isnull=True)
        .exclude(session__status=Status.IN_PROGRESS)
    )
    if dry_run:
        return PurgeResult(recordings=rows.count(), cutoff=cutoff)
    purged = 0
    while batch := list(rows.values_list("pk", "audio_file")[:500]):
        purged += _purge_batch(batch)
    return PurgeResult(recordings=purged, cutoff=cutoff)


@transaction.atomic
def _purge_batch(batch: list[tuple[int, str]]) -> int:
    Conversation.objects.filter(pk__in=[pk for pk, _ in batch]).update(audio_file="")
    _delete_files_on_commit(Conversation.audio_file.field.storage, [name for _, name in batch])
    return len(batch)
