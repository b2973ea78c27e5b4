"""The review page of an ended interview (/dashboard/<uuid>/review/): the
transcript with each spoken answer's recording, the evaluation with links to
the turns it cites, staff notes and suggestions, latency figures, the hiring
decision (form: post, then redirect back), the report and the audit trail.

Plain HTML, no script: every action is a form that posts to this page.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from interviews import selectors, services
from interviews.exceptions import DomainError, NotFound
from interviews.models import AuditEntry, Conversation, Decision, InterviewSession, SessionEvent
from interviews.wire import EventType
from reports import metrics as report_metrics
from reports import services as report_services
from reports.data import Evaluation, TurnMetrics
from reports.sections import RECOMMENDATIONS

from .auth import staff_required

ENDED = (InterviewSession.Status.COMPLETED, InterviewSession.Status.CANCELLED)


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        label="Decision",
        choices=Decision.Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose Advance, Hold or Reject."},
    )
    rationale = forms.CharField(
        label="Rationale",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Write a rationale: why this decision."},
    )


@dataclass(frozen=True)
class TurnView:
    """One transcript row as the page shows it; `anchor` is its HTML id."""

    id: int
    number: int
    seq: int | None
    is_ai: bool
    speaker: str
    text: str
    at: datetime
    elapsed: str
    audio_url: str
    question: str  # "Q2: ..." on the first turn about a question, else ""

    @property
    def anchor(self) -> str:
        return f"turn-{self.id}"

    @property
    def label(self) -> str:
        return f"Turn {self.number}"


class TurnIndex:
    """Finds the transcript turn an event's seq points at."""

    def __init__(self, turns: list[TurnView]) -> None:
        self.by_seq = sorted((t.seq, t) for t in turns if t.seq is not None)
        self.seqs = [seq for seq, _ in self.by_seq]

    def cited(self, seq: int) -> TurnView | None:
        """The turn a cited seq belongs to: its own, or the next one (a
        transcript.final is recorded just before its turn.committed), as in the PDF."""
        i = bisect.bisect_left(self.seqs, seq)
        return self.by_seq[i][1] if i < len(self.seqs) else None

    def before(self, seq: int) -> TurnView | None:
        """The last turn recorded before `seq` (a metrics.turn follows its AI reply)."""
        i = bisect.bisect_left(self.seqs, seq)
        return self.by_seq[i - 1][1] if i > 0 else None


@staff_required
@require_http_methods(["GET", "POST"])
def review(request, session_uuid):
    try:
        session = selectors.session_by_uuid(session_uuid)
    except NotFound:
        return render(request, "dashboard/live_missing.html", status=404)
    here = reverse("review", args=[session.session_id])
    form = DecisionForm()
    status = 200
    if request.method == "POST":
        if request.POST.get("action") == "report":
            return generate_report(request, session, here)
        form = DecisionForm(request.POST)
        if form.is_valid() and record_decision(request, session, form):
            messages.success(request, "Decision recorded.")
            return redirect(f"{here}#decision")
        status = 400
    else:
        services.record_audit(session=session, action=AuditEntry.Action.VIEWED, actor=request.user)
    context = {"session": session, "form": form, "ended": session.status in ENDED}
    if context["ended"]:
        context |= review_facts(session)
    context["audit"] = list(selectors.audit_trail(session))
    return render(request, "dashboard/review.html", context, status=status)


def record_decision(request, session: InterviewSession, form: DecisionForm) -> bool:
    try:
        services.record_decision(
            session=session,
            outcome=form.cleaned_data["outcome"],
            rationale=form.cleaned_data["rationale"],
            decided_by=request.user,
        )
    except DomainError as exc:
        field = exc.details.get("field")
        form.add_error(field if field in form.fields else None, exc.message)
        return False
    return True


def generate_report(request, session: InterviewSession, here: str):
    if session.status not in ENDED:
        messages.error(request, "The report can be generated once the interview has ended.")
        return redirect(here)
    report_services.generate_report(session=session, actor=request.user)
    messages.success(request, "Report generated.")
    return redirect(f"{here}#report")


def review_facts(session: InterviewSession) -> dict:
    turns = transcript(session)
    index = TurnIndex(turns)
    data = report_services.gather(session)  # the report's figures, computed the same way
    decisions = selectors.decision_history(session)
    report = selectors.session_report(session)
    return {
        "turns": turns,
        "evaluation": evaluation_view(Evaluation.from_json(session.evaluation), index),
        "notes": [note_view(event, index) for event in selectors.observer_events(session)],
        "speaking": report_metrics.compute(data),
        "latency_rows": [latency_row(m, index) for m in data.metrics],
        "decision": decisions[0] if decisions else None,
        "earlier_decisions": decisions[1:],
        "report": report,
        "report_url": selectors.report_download_path(report) if report else "",
    }


def transcript(session: InterviewSession) -> list[TurnView]:
    rows = selectors.session_transcript(session)
    origin = session.started_at or (rows[0].timestamp if rows else None)
    labels = {q.pk: f"Q{i}" for i, q in enumerate(selectors.session_questions(session), 1)}
    turns, current_question = [], None
    for number, row in enumerate(rows, 1):
        question = ""
        if row.question_id in labels and row.question_id != current_question:
            current_question = row.question_id
            question = f"{labels[row.question_id]}: {row.question.question_text}"
        turns.append(
            TurnView(
                id=row.pk,
                number=number,
                seq=row.seq,
                is_ai=row.speaker == Conversation.Speaker.AI,
                speaker="Interviewer (AI)"
                if row.speaker == Conversation.Speaker.AI
                else session.student.name,
                text=row.message,
                at=row.timestamp,
                elapsed=elapsed(origin, row.timestamp),
                # Served by the authenticated, Range-capable audio view.
                audio_url=selectors.conversation_audio_path(row) or "",
                question=question,
            )
        )
    return turns


def elapsed(origin: datetime | None, moment: datetime) -> str:
    if origin is None:
        return ""
    seconds = max(0, int((moment - origin).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    # "1:05 in", not "+01:05", which reads like a time zone next to a clock time.
    return f"{hours}:{minutes:02d}:{seconds:02d} in" if hours else f"{minutes}:{seconds:02d} in"


def evaluation_view(evaluation: Evaluation | None, index: TurnIndex) -> dict | None:
    if evaluation is None:
        return None
    label = RECOMMENDATIONS.get(evaluation.recommendation, (evaluation.recommendation,))[0]
    questions = [
        {
            "text": item.question_text,
            "score": f"{item.score:.0f}" if item.score is not None else "",
            "rationale": item.rationale,
            "evidence": evidence(item.seqs, index),
        }
        for item in evaluation.questions
    ]
    return {"ev": evaluation, "recommendation": label, "questions": questions}


def evidence(seqs: tuple[int, ...], index: TurnIndex) -> list[TurnView | None]:
    """The cited turns, once each, in transcript order; None for a seq past the
    transcript's end (shown as such rather than dropped)."""
    found = {turn.id: turn for seq in seqs if (turn := index.cited(seq)) is not None}
    missing = [None] if any(index.cited(seq) is None for seq in seqs) else []
    return [*sorted(found.values(), key=lambda t: t.number), *missing]


def note_view(event: SessionEvent, index: TurnIndex) -> dict:
    payload = event.payload or {}
    ref = payload.get("ref_seq")
    return {
        "is_suggestion": event.type == EventType.OBSERVER_SUGGEST,
        "text": str(payload.get("text") or ""),
        "author": str(payload.get("author") or ""),
        "at": event.created_at,
        "about": index.cited(ref) if isinstance(ref, int) else None,
    }


def latency_row(metrics: TurnMetrics, index: TurnIndex) -> dict:
    return {"reply": index.before(metrics.seq), "m": metrics}
