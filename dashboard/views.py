"""The candidate's join page and the observers' dashboard (HTML shells; the
live parts run in static/ over the WebSockets)."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render

from interviews import selectors
from interviews.exceptions import NotFound


def join(request, session_uuid):
    token = request.GET.get("token", "")
    try:
        session = selectors.session_by_uuid(session_uuid)
    except NotFound:
        return render(request, "dashboard/join_error.html", {"reason": "unknown"}, status=404)
    if not selectors.join_token_valid(session, token):
        reason = "expired" if token == session.join_token else "invalid"
        return render(request, "dashboard/join_error.html", {"reason": reason}, status=403)
    return render(request, "dashboard/join.html", {"session": session, "token": token})


@staff_member_required
def lobby(request):
    sessions = selectors.session_list()[:200]
    return render(request, "dashboard/lobby.html", {"sessions": sessions})


@staff_member_required
def live(request, session_uuid):
    try:
        session = selectors.session_by_uuid(session_uuid)
    except NotFound:
        return render(request, "dashboard/join_error.html", {"reason": "unknown"}, status=404)
    return render(request, "dashboard/live.html", {"session": session})
