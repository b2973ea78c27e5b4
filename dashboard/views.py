"""The candidate's join page and the observers' dashboard (HTML shells; the
live parts run in static/js over the WebSockets, see docs/browser.md)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from interviews import events, selectors
from interviews.exceptions import NotFound
from interviews.models import InterviewSession


def join(request, session_uuid):
    token = request.GET.get("token", "")
    try:
        session = selectors.session_by_uuid(session_uuid)
    except NotFound:
        return render(request, "dashboard/join_error.html", {"reason": "unknown"}, status=404)
    if not selectors.join_token_valid(session, token):
        reason = "expired" if token == session.join_token else "invalid"
        return render(request, "dashboard/join_error.html", {"reason": reason}, status=403)
    config = {
        **_session_facts(session),
        "ws_path": f"/ws/interview/{session.session_id}/?token={token}",
        # The busy state's retries (static/js/busy.js).
        "busy_retry_s": settings.RT.busy_retry_s,
        "busy_retry_max_s": settings.RT.busy_retry_max_s,
    }
    return render(request, "dashboard/join.html", {"session": session, "config": config})


@staff_member_required
def lobby(request):
    sessions = selectors.session_list()[:200]
    return render(request, "dashboard/lobby.html", {"sessions": sessions})


@staff_member_required
@ensure_csrf_cookie  # the report buttons POST to the REST API with the session
def live(request, session_uuid):
    try:
        session = selectors.session_by_uuid(session_uuid)
    except NotFound:
        return render(request, "dashboard/live_missing.html", status=404)
    questions = [
        {"id": q.pk, "order": q.order, "text": q.question_text, "category": q.category}
        for q in selectors.session_questions(session)
    ]
    report = selectors.report_list().filter(session=session).first()
    config = {
        **_session_facts(session),
        "ws_path": f"/ws/observe/{session.session_id}/",
        "questions": questions,
        "report_download_url": f"/api/reports/{report.pk}/download/" if report else "",
        "join_url": selectors.join_url(session),
    }
    return render(
        request,
        "dashboard/live.html",
        {"session": session, "config": config, "questions": questions},
    )


def _session_facts(session: InterviewSession) -> dict:
    return {
        "session_id": str(session.session_id),
        "title": session.title,
        "status": session.status,
        "started_at": events.iso(session.started_at),
        "ended_at": events.iso(session.ended_at),
        "duration_minutes": session.duration_minutes,
        "language": session.language,
    }
