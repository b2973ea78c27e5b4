"""Pure PDF building: plain data in, PDF bytes out (no ORM, no I/O)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer


@dataclass(frozen=True)
class TranscriptLine:
    speaker: str
    text: str
    timestamp: str


@dataclass(frozen=True)
class ReportData:
    title: str
    candidate: str
    interviewer: str
    status: str
    session_id: str
    questions: tuple[str, ...] = ()
    transcript: tuple[TranscriptLine, ...] = field(default_factory=tuple)


def build(data: ReportData) -> bytes:
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=data.title)
    story = [
        Paragraph(data.title, styles["Title"]),
        Paragraph(f"Candidate: {data.candidate}", styles["Normal"]),
        Paragraph(f"Interviewer: {data.interviewer}", styles["Normal"]),
        Paragraph(f"Status: {data.status}", styles["Normal"]),
        Spacer(1, 12),
        Paragraph("Questions", styles["Heading2"]),
        *[Paragraph(q, styles["Normal"]) for q in data.questions],
        Paragraph("Transcript", styles["Heading2"]),
        *[
            Paragraph(f"[{t.timestamp}] {t.speaker}: {t.text}", styles["Normal"])
            for t in data.transcript
        ],
    ]
    doc.build(story)
    return buffer.getvalue()
