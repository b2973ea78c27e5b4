"""The candidate's join page and the staff pages: the lobby, the new-interview
form and the interview's page (HTML shells; the live parts run in static/js
over the WebSockets, see docs/browser.md). Staff actions are POSTs that call a
service, record who did it in the audit trail and come back to the page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST

from interviewer import bank
from interviewer.plan import PlanState
from interviews import events, selectors, services
from interviews.exceptions import DomainError, NotFound
from interviews.models import AuditEntry, InterviewSession
from reports import services as report_services

from .auth import staff_required
from .forms import ExtraTimeForm, NewInterviewForm, mark_invalid_fields

Status = InterviewSession.Status


def join(request, session_uuid):
    token = request.GET.get("token", "")
    try:
        session = selectors.session_by_uuid(session_uuid)
    except NotFound:
        return render(request, "dashboard/join_error.html", {"reason": "unknown"}, status=404)
    if not selectors.join_token_valid(session, token):
        reason = "expired" if selectors.join_token_matches(session, token) else "invalid"
        return render(request, "dashboard/join_error.html", {"reason": reason}, status=403)
    config = {
        **session_facts(session),
        "ws_path": f"/ws/interview/{session.session_id}/?token={token}",
        # The busy state's retries (static/js/busy.js).
        "busy_retry_s": settings.RT.busy_retry_s,
        "busy_retry_max_s": settings.RT.busy_retry_max_s,
    }
    return render(request, "dashboard/join.html", {"session": session, "config": config})


@staff_required
def lobby(request):
    sessions = selectors.session_list()[:200]
    return render(request, "dashboard/lobby.html", {"sessions": sessions})


@staff_required
@ensure_csrf_cookie  # the question drafts are fetched from the REST API with the session
def new_interview(request):
    form = NewInterviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            session = services.create_interview(
                title=data["title"],
                interviewer=data["interviewer"],
                interviewer_name=data["interviewer_name"],
                interviewer_email=data["interviewer_email"],
                student=data["existing_student"],
                student_name=data["student_name"],
                student_email=data["student_email"],
                duration_minutes=data["duration_minutes"],
                language=data["language"],
                scheduled_at=data["scheduled_at"],
                description=data["job_description"],
                questions=data["questions"],
                bank_questions=list(data["bank_questions"]),
                extra_time_s=data["extra_time_s"] or 0.0,
                created_by=request.user,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "The interview is ready. Send the candidate their link.")
            return redirect("live", session_uuid=session.session_id)
    mark_invalid_fields(form)
    return render(
        request,
        "dashboard/new_interview.html",
        {"form": form, "has_bank": bank.bank_questions().exists()},
    )


@staff_required
@ensure_csrf_cookie
def live(request, session_uuid):
    try:
        session = selectors.session_by_uuid(session_uuid)
    except NotFound:
        return render(request, "dashboard/live_missing.html", status=404)
    services.record_audit(session=session, action=AuditEntry.Action.VIEWED, actor=request.user)
    questions = [
        {"id": q.pk, "order": q.order, "text": q.question_text, "category": q.category}
        for q in selectors.session_questions(session)
    ]
    report = selectors.report_list().filter(session=session).first()
    config = {
        **session_facts(session),
        "ws_path": f"/ws/observe/{session.session_id}/",
        "questions": questions,
        "report_download_url": (
            request.build_absolute_uri(selectors.report_download_path(report)) if report else ""
        ),
        "join_url": selectors.join_url(session),
    }
    return render(
        request,
        "dashboard/live.html",
        {
            "session": session,
            "config": config,
            "questions": questions,
            "report": report,
            "phase": phase(session),
            "extra_time": f"{session.extra_time_s:g}",
            "extra_time_form": ExtraTimeForm(initial={"extra_time_s": session.extra_time_s}),
        },
    )


# --- staff actions on one interview ------------------------------------------------


def _staff_action(action):
    """A POST-only, staff-only action on the session named in the URL: `action`
    returns the message to show; a domain error is shown instead. Either way
    the staff member lands back on the interview's page."""

    @staff_required
    @require_POST
    def view(request, session_uuid):
        try:
            session = selectors.session_by_uuid(session_uuid)
        except NotFound:
            return render(request, "dashboard/live_missing.html", status=404)
        try:
            messages.success(request, action(session, request.user))
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("live", session_uuid=session.session_id)

    view.__name__ = action.__name__
    return view


@_staff_action
def cancel_session(session, user) -> str:
    services.transition_session(session=session, action="cancel", actor=user)
    return "The interview is cancelled. Its link no longer works."


def _end(session, user) -> None:
    services.end_session(session=session, reason="ended by staff", actor=user)


@_staff_action
def end_session(session, user) -> str:
    _end(session, user)
    return "The session has ended."


@_staff_action
def end_and_report(session, user) -> str:
    _end(session, user)
    report_services.generate_report(session=session, actor=user)
    return "The session has ended and the report is ready."


@_staff_action
def generate_report(session, user) -> str:
    report_services.generate_report(session=session, actor=user)
    return "The report is ready."


@_staff_action
def rotate_link(session, user) -> str:
    services.rotate_join_token(session=session, actor=user)
    return "The candidate has a new link; the old one no longer works."


@staff_required
@require_POST
def set_extra_time(request, session_uuid):
    """The accommodation, changed on the interview's page (scheduled or in
    progress); audited by the service. Back to the page with what happened."""
    try:
        session = selectors.session_by_uuid(session_uuid)
    except NotFound:
        return render(request, "dashboard/live_missing.html", status=404)
    form = ExtraTimeForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["extra_time_s"][0])
        return redirect("live", session_uuid=session.session_id)
    seconds = form.cleaned_data["extra_time_s"]
    try:
        services.set_extra_time(session=session, extra_time_s=seconds, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Extra time to answer: {seconds:g} seconds.")
    return redirect("live", session_uuid=session.session_id)


def phase(session: InterviewSession) -> str:
    """Which controls the interview's page offers (static/js/observer.js keeps
    it current): scheduled, in_progress, ai_closed (the AI said its closing
    words, the session is still open) or ended."""
    if session.status in (Status.COMPLETED, Status.CANCELLED):
        return "ended"
    if session.status == Status.IN_PROGRESS:
        return "ai_closed" if PlanState.load(session.ai_state).closed else "in_progress"
    return "scheduled"


def session_facts(session: InterviewSession) -> dict:
    plan = PlanState.load(session.ai_state)
    return {
        "session_id": str(session.session_id),
        "title": session.title,
        "status": session.status,
        "started_at": events.iso(session.started_at),
        "ended_at": events.iso(session.ended_at),
        "duration_minutes": session.duration_minutes,
        "language": session.language,
        # Whether the AI has greeted (opened) and said its closing words (closed):
        # the candidate page starts the conversation when it has not opened.
        "ai_opened": plan.opened,
        "ai_closed": plan.closed,
    }
