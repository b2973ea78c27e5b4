"""The scripted interviewer: fixed wording for every move.

It runs when no LLM is configured, and its wording finishes any turn the
model could not (see docs/interviewer.md, "The plan").
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from .plan import Move, MoveKind
from .prompts import TurnContext
from .text import word_chunks


class ScriptedInterviewer:
    """Deterministic wording, used when no LLM is configured (and as the fallback)."""

    name = "scripted"

    async def speak(self, move: Move, ctx: TurnContext) -> AsyncIterator[str]:
        ctx.log.source = "scripted"
        for chunk in word_chunks(self.text(move, ctx)):
            yield chunk

    def text(self, move: Move, ctx: TurnContext) -> str:
        plan = ctx.plan
        if move.kind is MoveKind.GREETING:
            hello = (
                f"Hello {plan.candidate_name}, welcome to the {plan.title} interview. "
                "I'm your AI interviewer. Take your time with each answer."
            )
            if move.question is None:
                return hello + " Tell me about yourself and the role you are looking for."
            return f"{hello} Let's begin. {move.question.text}"
        if move.kind is MoveKind.QUESTION:
            return f"Thank you. Next question: {move.question.text}"
        if move.kind is MoveKind.FOLLOW_UP:
            return (
                "Could you tell me more? A concrete example, what you did yourself "
                "and how it turned out would help."
            )
        if move.kind is MoveKind.SUGGESTION:
            return f"Let me follow up on that. {move.suggestion.strip()}"
        why = "We have reached the end of our time. " if move.reason == "time budget spent" else ""
        return (
            f"{why}Thank you for your time, {plan.candidate_name}. That concludes our "
            "interview; the team will be in touch about next steps."
        )

    def recovery(self, move: Move, ctx: TurnContext) -> str:
        """What must still be said when a model reply broke off part-way."""
        if move.kind is MoveKind.GREETING:
            return f"Let's begin. {move.question.text}" if move.question else self.text(move, ctx)
        if move.kind is MoveKind.QUESTION:
            return f"Next question: {move.question.text}"
        return self.text(move, ctx)
