"""Reads the report needs beyond interviews.selectors."""

from __future__ import annotations

from interviews.models import InterviewSession, SessionEvent
from interviews.wire import EventType

NOTE_TYPES = (EventType.OBSERVER_NOTE, EventType.OBSERVER_SUGGEST)
METRICS_TYPE = EventType.METRICS_TURN


def report_events(session: InterviewSession) -> list[SessionEvent]:
    """Observer notes/suggestions and per-turn metrics, in seq order."""
    return list(
        SessionEvent.objects.filter(session=session, type__in=(*NOTE_TYPES, METRICS_TYPE)).order_by(
            "seq"
        )
    )
