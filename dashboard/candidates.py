"""Staff pages about candidates: the list with their interviews and decisions,
a candidate's page, erasing a candidate's data (confirmed by typing their
name), and the CSV export of every interview."""

from __future__ import annotations

import csv
from datetime import datetime

from django import forms
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from interviews import erasure, selectors
from interviews.exceptions import InvalidTransition, NotFound
from interviews.models import InterviewSession, Student

from .auth import staff_required

CANDIDATES_PER_PAGE = 50
ENDED = (InterviewSession.Status.COMPLETED, InterviewSession.Status.CANCELLED)

# What an erasure removed, in words; kinds not listed are shown by their key.
REMOVED_LABELS = {
    "interviews": "Interviews kept, anonymised",
    "interviews_cancelled": "Scheduled interviews cancelled",
    "conversations": "Transcript lines",
    "audio_files": "Recorded answers (audio files)",
    "events": "Interview events",
    "notes": "Staff notes",
    "suggestions": "Suggestions to the AI",
    "reports": "Reports",
    "report_files": "Report PDF files",
    "evaluations": "Evaluations",
    "decision_rationales_anonymised": "Decision rationales with the name replaced",
    "questions_anonymised": "Questions with the name replaced",
    "admin_history_entries": "Admin history entries anonymised",
}


def interview_url(session: InterviewSession) -> str:
    """The review page once the interview has ended, the live view before."""
    suffix = "review/" if session.status in ENDED else ""
    return f"/dashboard/{session.session_id}/{suffix}"


def interview_row(session: InterviewSession) -> dict:
    return {
        "session": session,
        "url": interview_url(session),
        "when": session.started_at or session.scheduled_at or session.created_at,
        "decision": selectors.latest_decision(session),
    }


def candidate_view(student: Student) -> dict:
    erasures = list(student.erasures.all())
    return {
        "student": student,
        "erasure": erasures[0] if erasures else None,
        "interviews": [interview_row(s) for s in student.sessions.all()],
    }


@staff_required
def candidates(request):
    page = Paginator(selectors.candidate_list(), CANDIDATES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "dashboard/candidates.html",
        {"page": page, "candidates": [candidate_view(s) for s in page.object_list]},
    )


def _candidate_or_404(request, student_id: int):
    try:
        return selectors.candidate_get(student_id), None
    except NotFound:
        response = render(request, "dashboard/candidates_missing.html", status=404)
        return None, response


@staff_required
def candidate(request, student_id: int):
    student, missing = _candidate_or_404(request, student_id)
    if missing:
        return missing
    return render(request, "dashboard/candidates_detail.html", candidate_view(student))


class EraseConfirmForm(forms.Form):
    confirm_name = forms.CharField(
        label="Type the candidate's name to confirm", max_length=200, strip=True
    )

    def __init__(self, *args, student: Student, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.student = student

    def clean_confirm_name(self) -> str:
        typed = self.cleaned_data["confirm_name"]
        if " ".join(typed.split()).casefold() != " ".join(self.student.name.split()).casefold():
            raise forms.ValidationError(
                f"That is not the candidate's name. Type “{self.student.name}” exactly."
            )
        return typed


def _live_interview(student: Student) -> InterviewSession | None:
    return next(
        (s for s in student.sessions.all() if s.status == InterviewSession.Status.IN_PROGRESS),
        None,
    )


@staff_required
@require_http_methods(["GET", "POST"])
def candidate_erase(request, student_id: int):
    student, missing = _candidate_or_404(request, student_id)
    if missing:
        return missing
    context = candidate_view(student)
    live = _live_interview(student)
    refusal = (
        f"The interview “{live.title}” is live; end it first, then erase this candidate's data."
        if live
        else ""
    )
    form = EraseConfirmForm(request.POST or None, student=student)
    status = 200
    if request.method == "POST" and not refusal and not context["erasure"] and form.is_valid():
        try:
            record = erasure.erase_student(student=student, erased_by=request.user)
        except InvalidTransition as exc:
            refusal, status = exc.message, 409
        else:
            return redirect("candidate-erased", erasure_id=record.pk)
    elif request.method == "POST":
        status = 409 if refusal or context["erasure"] else 400
    return render(
        request,
        "dashboard/candidates_erase.html",
        {**context, "form": form, "refusal": refusal},
        status=status,
    )


@staff_required
def erasure_done(request, erasure_id: int):
    try:
        record = selectors.erasure_get(erasure_id)
    except NotFound:
        return render(request, "dashboard/candidates_missing.html", status=404)
    removed = [
        (REMOVED_LABELS.get(kind, kind.replace("_", " ").capitalize()), count)
        for kind, count in (record.removed or {}).items()
    ]
    return render(
        request, "dashboard/candidates_erased.html", {"erasure": record, "removed": removed}
    )


# --- CSV export ---------------------------------------------------------------

CSV_COLUMNS = (
    "interview_id",
    "session_uuid",
    "title",
    "candidate_name",
    "candidate_email",
    "interviewer",
    "status",
    "scheduled_at",
    "started_at",
    "ended_at",
    "overall_score",
    "question_average",
    "decision",
    "decided_by",
    "decided_at",
)
# A cell a spreadsheet would read as a formula (=, +, -, @, or a leading tab or
# carriage return) gets a leading apostrophe: the text shows, nothing runs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _time(moment: datetime | None) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else ""


def scores(evaluation: dict | None) -> tuple[str, str]:
    """(overall score, mean of the per-question scores) of a stored evaluation
    (interviewer/evaluation.py's EVALUATION_SCHEMA), blank when absent."""
    if not isinstance(evaluation, dict):
        return "", ""
    overall = evaluation.get("overall_score")
    per_question = [
        q["score"]
        for q in evaluation.get("questions") or []
        if isinstance(q, dict) and isinstance(q.get("score"), int | float)
    ]
    average = f"{sum(per_question) / len(per_question):.2f}" if per_question else ""
    return (f"{overall:g}" if isinstance(overall, int | float) else ""), average


def csv_row(session: InterviewSession) -> list[str]:
    decision = selectors.latest_decision(session)
    overall, average = scores(session.evaluation)
    cells = [
        session.pk,
        session.session_id,
        session.title,
        session.student.name,
        session.student.email,
        session.interviewer.name,
        session.get_status_display(),
        _time(session.scheduled_at),
        _time(session.started_at),
        _time(session.ended_at),
        overall,
        average,
        decision.get_outcome_display() if decision else "",
        decision.decided_by_name if decision else "",
        _time(decision.decided_at) if decision else "",
    ]
    return [safe_cell(cell) for cell in cells]


@staff_required
def interviews_csv(request):
    # Built whole, not streamed: under ASGI Django buffers a sync streaming
    # response anyway (and warns), and the export is rows of short text.
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"interviews-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response.write("\ufeff")  # a byte-order mark: spreadsheets then read the names as UTF-8
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for session in selectors.export_sessions().iterator(chunk_size=500):
        writer.writerow(csv_row(session))
    return response
