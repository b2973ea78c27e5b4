"""The director: a pure function that picks the interviewer's next move.

It asks the next question, follows up on a thin or vague answer, takes an
observer's suggestion or wraps up, from the plan and the progress so far.
Keeping the decision out of the model means the plan, the follow-up limit
and the time budget hold whatever the model says (see docs/interviewer.md).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from .plan import Move, MoveKind, Plan, PlannedQuestion, PlanState
from .text import HEDGES, content_words, word_count

THIN_ANSWER_WORDS = 8
VAGUE_ANSWER_WORDS = 25


def follow_up_reason(answer: str, question: PlannedQuestion | None) -> str | None:
    """Why this answer deserves a follow-up ("thin", "vague"), or None.

    Thin: under THIN_ANSWER_WORDS words. Vague: short-ish and hedging ("not
    sure", "maybe"), or short-ish and touching none of the expected answer's
    key terms.
    """
    words = word_count(answer)
    if words < THIN_ANSWER_WORDS:
        return "thin answer"
    if words >= VAGUE_ANSWER_WORDS:
        return None
    lowered = answer.lower()
    if any(h in lowered for h in HEDGES):
        return "vague answer"
    if question is not None and question.expected_answer:
        key = set(content_words(question.expected_answer)) - set(content_words(question.text))
        if len(key) >= 3 and not key & set(content_words(answer)):
            return "vague answer"
    return None


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
        and not _question_time_spent(plan, state, now)
    ):
        reason = follow_up_reason(answer, current)
        if reason:
            return Move(MoveKind.FOLLOW_UP, current, reason=reason)
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
