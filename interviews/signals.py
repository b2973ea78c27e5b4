"""Signals the domain sends; apps above it connect receivers (in AppConfig.ready)."""

from __future__ import annotations

from django.dispatch import Signal

# services.end_session / aend_session, once the session is known to be in
# progress and before it is completed; sender=InterviewSession, with `session`
# (the InterviewSession) and `reason` (str). A receiver's writes commit on their
# own; an exception from a receiver stops the end (the session stays in
# progress). The live app's receiver has the AI say its closing words.
session_ending = Signal()
