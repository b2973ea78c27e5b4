"""Gather a session's data, build the PDF off the event loop, store it."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from interviews import selectors
from interviews.models import InterviewReport, InterviewSession

from .build import ReportData, TranscriptLine, build


def gather(session: InterviewSession) -> ReportData:
    return ReportData(
        title=session.title,
        candidate=session.student.name,
        interviewer=session.interviewer.name,
        status=session.get_status_display(),
        session_id=str(session.session_id),
        questions=tuple(q.question_text for q in selectors.session_questions(session)),
        transcript=tuple(
            TranscriptLine(c.speaker, c.message, c.timestamp.isoformat())
            for c in selectors.session_transcript(session)
        ),
    )


def file_name(session: InterviewSession) -> str:
    day = (session.started_at or session.scheduled_at or timezone.now()).date().isoformat()
    return f"interview-{slugify(session.student.name) or 'candidate'}-{day}.pdf"


@transaction.atomic
def generate_report(*, session: InterviewSession) -> InterviewReport:
    """Build and store the PDF, replacing an older report of the session."""
    pdf = build(gather(session))
    report, _ = InterviewReport.objects.get_or_create(session=session, defaults={"pdf_file": ""})
    if report.pdf_file:
        report.pdf_file.delete(save=False)
    report.pdf_file.save(file_name(session), ContentFile(pdf), save=False)
    report.save()
    return report
