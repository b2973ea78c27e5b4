"""The "Decision" section of the PDF: the current decision with who and when,
the earlier ones, or a line saying none was recorded."""

from __future__ import annotations

import re
from pathlib import Path

from interviews import services
from reports import services as report_services
from reports.build import build
from reports.data import ReportDecision

from .conftest import pdftotext, pypdf_pages
from .test_build import at, report_data

CURRENT = ReportDecision("Advance", "Clear, structured answers 명확함.", "kim.recruiter", at(600))
EARLIER = ReportDecision("Hold", "Waiting for the second panel.", "lee.lead", at(400))


def test_the_current_decision_with_rationale_who_and_when(text_of):
    pdf = build(report_data(decisions=(CURRENT, EARLIER)))
    for text in text_of(pdf):
        assert "Decision" in text
        assert "Advance" in text
        assert "Clear, structured answers 명확함." in text
        assert "Decided by kim.recruiter, 2026-02-01 10:10 UTC" in text
        assert "Earlier decisions" in text
        assert "Hold by lee.lead, 2026-02-01 10:06 UTC: Waiting for the second panel." in text
        assert "No decision recorded yet" not in text


def test_the_decision_comes_after_the_summary_and_before_the_questions():
    text = pdftotext(build(report_data(decisions=(CURRENT,))))
    body = text.split("Contents", 1)[1]
    # Past the contents line, the headings come in this order.
    headings = [
        m.start()
        for m in (
            re.search(rf"\n{h}\n", body) for h in ("Summary", "Decision", "Questions and scores")
        )
        if m
    ]
    assert len(headings) == 3 and headings == sorted(headings)
    assert "Earlier decisions" not in text


def test_no_decision_says_so(text_of):
    for text in text_of(build(report_data())):
        assert "No decision recorded yet." in text


def test_the_generated_report_has_the_sessions_decision(session, staff_user):
    services.transition_session(session=session, action="start")
    services.transition_session(session=session, action="end")
    services.record_decision(
        session=session, outcome="hold", rationale="Need a reference check.", decided_by=staff_user
    )
    services.record_decision(
        session=session, outcome="reject", rationale="References were poor.", decided_by=staff_user
    )
    report = report_services.generate_report(session=session)
    text = " ".join(pypdf_pages(Path(report.pdf_file.path).read_bytes()))
    assert "Reject" in text
    assert "References were poor." in text
    assert "Decided by staff" in text
    assert "Hold by staff" in text and "Need a reference check." in text
