"""Pure PDF building: a ReportData in, PDF bytes out.

No ORM, no Django settings, no clock: the same data and fonts give the same
bytes (ReportLab's invariant mode; the PDF's dates are `generated_at`).

build() is the entry point; the content is in reports/sections.py, the page
furniture (styles, header, footer, bookmarks) in reports/layout.py.
"""

from __future__ import annotations

from .data import (
    EvaluatedQuestion,
    Evaluation,
    ObserverNote,
    ReportData,
    ReportDecision,
    ReportQuestion,
    ReportTurn,
    TurnMetrics,
)
from .fonts import ReportFonts, discover_fonts, register
from .layout import paragraph_styles, render
from .sections import Sections

__all__ = [
    "Evaluation",
    "EvaluatedQuestion",
    "ObserverNote",
    "ReportQuestion",
    "ReportData",
    "ReportDecision",
    "ReportTurn",
    "TurnMetrics",
    "build",
]


def build(data: ReportData, *, fonts: ReportFonts | None = None) -> bytes:
    """The report as PDF bytes. `fonts` defaults to what discover_fonts() finds."""
    chain = register(fonts if fonts is not None else discover_fonts())
    styles = paragraph_styles(chain)
    return render(data, chain, styles, Sections(data, chain, styles).story())
