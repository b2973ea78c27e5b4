"""The live app's receivers of domain signals (connected in LiveConfig.ready)."""

from __future__ import annotations

from typing import Any

from interviews.models import InterviewSession

from . import ai_turns


async def close_ai_conversation(
    sender: type[InterviewSession], *, session: InterviewSession, reason: str, **kwargs: Any
) -> None:
    """interviews.signals.session_ending: the AI says its closing words first
    when its conversation is open (sync senders run this through async_to_sync)."""
    await ai_turns.close(session.session_id, reason)
