"""The AI interviewer.

Two parts: the *director* (``decide``) is a pure function that picks the next
move from the plan and the progress so far (ask the next question, follow up,
take an observer's suggestion, wrap up); an *Interviewer* puts that move into
words and streams them. The scripted interviewer words moves with fixed
templates; an LLM interviewer (OpenAI-compatible) words them with a model.
Keeping the decision out of the model means the plan, the follow-up limit and
the time budget hold whatever the model says.
"""

from __future__ import annotations

import enum
import re
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Protocol

from django.conf import settings


@dataclass(frozen=True)
class PlannedQuestion:
    id: int
    text: str
    category: str = ""
    difficulty: str = "medium"
    expected_answer: str = ""


@dataclass(frozen=True)
class Plan:
    title: str
    description: str
    candidate_name: str
    interviewer_name: str
    questions: tuple[PlannedQuestion, ...]
    duration_minutes: int
    started_at: datetime | None
    language: str = "en"

    def question(self, index: int) -> PlannedQuestion | None:
        return self.questions[index] if 0 <= index < len(self.questions) else None


@dataclass
class PlanState:
    """The interviewer's progress; stored as InterviewSession.ai_state."""

    opened: bool = False
    closed: bool = False
    index: int = -1  # the question being asked; -1 before the first
    follow_ups: int = 0  # follow-ups asked on the current question
    suggestions: list[str] = field(default_factory=list)  # observers' pending ones
    summary: str = ""  # running summary of earlier answers (LLM context)
    question_started_s: float | None = None  # epoch seconds the question was asked

    @classmethod
    def load(cls, data: dict | None) -> PlanState:
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def dump(self) -> dict:
        return asdict(self)


class MoveKind(enum.StrEnum):
    GREETING = "greeting"  # hello + the first question
    QUESTION = "question"  # the next planned question
    FOLLOW_UP = "follow_up"  # dig into a thin answer to the current question
    SUGGESTION = "suggestion"  # an observer's follow-up, in the AI's words
    CLOSING = "closing"  # thanks and goodbye


@dataclass(frozen=True)
class Move:
    kind: MoveKind
    question: PlannedQuestion | None = None
    suggestion: str = ""
    reason: str = ""


THIN_ANSWER_WORDS = 8


def is_thin(answer: str) -> bool:
    return len(re.findall(r"\w+", answer)) < THIN_ANSWER_WORDS


def decide(plan: Plan, state: PlanState, answer: str | None, now: datetime) -> Move:
    """Pure: the next move given an answer (None when opening or ending)."""
    if not state.opened:
        return Move(MoveKind.GREETING, plan.question(0), reason="opening")
    if answer is None:
        return Move(MoveKind.CLOSING, reason="ended")
    if _budget_spent(plan, now):
        return Move(MoveKind.CLOSING, reason="time budget spent")
    if state.suggestions:
        return Move(MoveKind.SUGGESTION, plan.question(state.index), state.suggestions[0])
    current = plan.question(state.index)
    if (
        current is not None
        and state.follow_ups < settings.RT.max_follow_ups
        and is_thin(answer)
        and not _question_time_spent(plan, state, now)
    ):
        return Move(MoveKind.FOLLOW_UP, current, reason="thin answer")
    following = plan.question(state.index + 1)
    if following is None:
        return Move(MoveKind.CLOSING, reason="plan done")
    return Move(MoveKind.QUESTION, following, reason="next question")


def advance(state: PlanState, move: Move, now: datetime) -> PlanState:
    """The state after `move` has been said."""
    if move.kind is MoveKind.GREETING:
        state.opened = True
        state.index = 0 if move.question else -1
        state.question_started_s = now.timestamp()
    elif move.kind is MoveKind.QUESTION:
        state.index += 1
        state.follow_ups = 0
        state.question_started_s = now.timestamp()
    elif move.kind is MoveKind.FOLLOW_UP:
        state.follow_ups += 1
    elif move.kind is MoveKind.SUGGESTION:
        state.suggestions = state.suggestions[1:]
    elif move.kind is MoveKind.CLOSING:
        state.closed = True
    return state


def _budget_spent(plan: Plan, now: datetime) -> bool:
    if plan.started_at is None or not plan.duration_minutes:
        return False
    return (now - plan.started_at).total_seconds() >= plan.duration_minutes * 60


def _question_time_spent(plan: Plan, state: PlanState, now: datetime) -> bool:
    if state.question_started_s is None or not plan.questions or not plan.duration_minutes:
        return False
    per_question_s = plan.duration_minutes * 60 / len(plan.questions)
    return now.timestamp() - state.question_started_s >= per_question_s


@dataclass(frozen=True)
class TurnContext:
    plan: Plan
    state: PlanState
    answer: str | None
    recent: tuple[tuple[str, str], ...] = ()  # (speaker, text), oldest first


class Interviewer(Protocol):
    """Words a move; yields the reply in chunks as they are produced."""

    name: str

    def speak(self, move: Move, ctx: TurnContext) -> AsyncIterator[str]: ...


class ScriptedInterviewer:
    """Deterministic wording, used when no LLM is configured."""

    name = "scripted"

    async def speak(self, move: Move, ctx: TurnContext) -> AsyncIterator[str]:
        for chunk in _chunks(self.text(move, ctx)):
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
        return (
            f"Thank you for your time, {plan.candidate_name}. That concludes our interview; "
            "the team will be in touch about next steps."
        )


def _chunks(text: str) -> list[str]:
    """Split into word-sized pieces (keeping spaces) so the reply streams."""
    return re.findall(r"\S+\s*", text) or [text]


def get_interviewer() -> Interviewer:
    return ScriptedInterviewer()
