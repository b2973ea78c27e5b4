"""Gather a session's data, build the PDF off the event loop, store it.

`generate_report` (sync, for the REST view) builds inline; `agenerate_report`
(for consumers and other async callers) reads through database_sync_to_async
and builds in a thread pool of settings.RT.report_threads workers, so
ReportLab never blocks the event loop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from interview_rt import pools
from interviews import selectors as interview_selectors
from interviews import services as domain_services
from interviews.models import (
    AuditEntry,
    Conversation,
    InterviewReport,
    InterviewSession,
    SessionEvent,
)

from . import selectors
from .build import build
from .data import (
    Evaluation,
    ObserverNote,
    ReportData,
    ReportDecision,
    ReportQuestion,
    ReportTurn,
    TurnMetrics,
)
from .fonts import discover_fonts


def gather(session: InterviewSession, *, now: datetime | None = None) -> ReportData:
    """Everything the report shows, as plain data, times in the server's zone."""
    events = selectors.report_events(session)
    return ReportData(
        session_id=str(session.session_id),
        title=session.title,
        description=session.description,
        candidate=session.student.name,
        candidate_email=session.student.email,
        interviewer=session.interviewer.name,
        interviewer_email=session.interviewer.email,
        status=session.get_status_display(),
        language=session.language,
        duration_minutes=session.duration_minutes,
        scheduled_at=_local(session.scheduled_at),
        started_at=_local(session.started_at),
        ended_at=_local(session.ended_at),
        generated_at=_local(now or timezone.now()),
        questions=tuple(
            ReportQuestion(
                id=q.pk,
                text=q.question_text,
                category=q.category,
                difficulty=q.get_difficulty_display(),
                order=q.order,
            )
            for q in interview_selectors.session_questions(session)
        ),
        turns=tuple(_turn(c) for c in interview_selectors.session_transcript(session)),
        evaluation=Evaluation.from_json(session.evaluation),
        notes=tuple(_note(e) for e in events if e.type in selectors.NOTE_TYPES),
        metrics=tuple(_metrics(e) for e in events if e.type == selectors.METRICS_TYPE),
        decisions=tuple(
            ReportDecision(
                outcome=d.get_outcome_display(),
                rationale=d.rationale,
                decided_by=d.decided_by_name,
                decided_at=timezone.localtime(d.decided_at),
            )
            for d in interview_selectors.decision_history(session)
        ),
    )


def _local(moment: datetime | None) -> datetime | None:
    return timezone.localtime(moment) if moment else None


def _turn(row: Conversation) -> ReportTurn:
    return ReportTurn(
        seq=row.seq,
        speaker=row.speaker,
        text=row.message,
        timestamp=timezone.localtime(row.timestamp),
        question_id=row.question_id,
        speech=row.speech if isinstance(row.speech, dict) else {},
    )


def _note(event: SessionEvent) -> ObserverNote:
    payload = event.payload or {}
    ref = payload.get("ref_seq")
    return ObserverNote(
        seq=event.seq,
        kind=event.type,
        text=str(payload.get("text") or ""),
        author=str(payload.get("author") or ""),
        ref_seq=ref if isinstance(ref, int) else None,
        timestamp=timezone.localtime(event.created_at),
    )


def _metrics(event: SessionEvent) -> TurnMetrics:
    payload = event.payload or {}

    def number(key: str) -> Any:
        value = payload.get(key)
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None

    words = number("words")
    return TurnMetrics(
        seq=event.seq,
        stt_final_ms=number("stt_final_ms"),
        llm_first_token_ms=number("llm_first_token_ms"),
        llm_total_ms=number("llm_total_ms"),
        words=int(words) if words is not None else None,
        speech_s=number("speech_s"),
    )


def file_name(session: InterviewSession) -> str:
    """interview-<candidate>-<date>.pdf; the name keeps its script (Django's
    FileResponse sends non-ASCII names as RFC 6266 filename*)."""
    moment = session.started_at or session.scheduled_at or session.created_at or timezone.now()
    candidate = slugify(session.student.name, allow_unicode=True)[:60].strip("-_")
    return f"interview-{candidate or 'candidate'}-{timezone.localdate(moment).isoformat()}.pdf"


def build_pdf(data: ReportData) -> bytes:
    """build() with the configured fonts (settings.RT.report_font_path, else a search)."""
    return build(data, fonts=discover_fonts(settings.RT.report_font_path))


@transaction.atomic
def store_report(*, session: InterviewSession, pdf: bytes, actor=None) -> InterviewReport:
    """Save the PDF as the session's one report; the older file is deleted
    from storage once the new row is committed. With `actor` (a staff user),
    also a line of the audit trail."""
    report, _ = InterviewReport.objects.select_for_update().get_or_create(
        session=session, defaults={"pdf_file": ""}
    )
    old_name = report.pdf_file.name
    report.pdf_file.save(file_name(session), ContentFile(pdf), save=False)
    report.save()
    if old_name and old_name != report.pdf_file.name:
        storage = report.pdf_file.storage
        transaction.on_commit(lambda: storage.delete(old_name))
    if actor is not None:
        domain_services.record_audit(
            session=session,
            action=AuditEntry.Action.REPORT,
            actor=actor,
            detail={"report_id": report.pk},
        )
    return report


def generate_report(*, session: InterviewSession, actor=None) -> InterviewReport:
    """Build and store the PDF inline (sync callers), replacing an older report."""
    return store_report(session=session, pdf=build_pdf(gather(session)), actor=actor)


async def agenerate_report(*, session: InterviewSession) -> InterviewReport:
    """generate_report for async callers: ReportLab runs in the report pool."""
    data = await database_sync_to_async(gather)(session)
    pdf = await pools.run("reports", build_pdf, data)
    return await database_sync_to_async(store_report)(session=session, pdf=pdf)
