"""Receivers of domain signals (connected in SpeechConfig.ready)."""

from __future__ import annotations

from typing import Any

from interviews.models import InterviewSession

from .admission import admission

ENDED = {InterviewSession.Status.COMPLETED, InterviewSession.Status.CANCELLED}


def release_place_of_ended_session(
    sender: type[InterviewSession], *, instance: InterviewSession, **kwargs: Any
) -> None:
    """A session that is completed or cancelled gives its admission place up
    (in the transaction that ended it), so the next interview can have it."""
    if instance.status in ENDED:
        admission.release_session_sync(instance.session_id)
