"""A session's plan as the interviewer sees it, the progress through it
(stored as InterviewSession.ai_state), the moves the director picks, and the
bounded running summary of earlier answers that the prompts quote."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.conf import settings

from .text import clip, word_count


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
    # [question index, gist of the answers to it]: the summary's source, bounded.
    notes: list[list] = field(default_factory=list)
    turns: int = 0  # student turns answered

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


# --- the running summary ----------------------------------------------------------

GIST_WORDS = 30


def record_answer(state: PlanState, plan: Plan, answer: str) -> None:
    """Fold a student answer into the bounded running summary (no model call).

    One line per question: how much the candidate said and the opening of
    what they said. Oldest lines give way when the summary would exceed
    `llm_summary_max_chars`, so the prompt does not grow with the interview.
    """
    state.turns += 1
    words = word_count(answer)
    gist = " ".join(answer.split()[:GIST_WORDS]) + ("…" if len(answer.split()) > GIST_WORDS else "")
    if state.notes and state.notes[-1][0] == state.index:
        previous = state.notes[-1]
        previous[1] = f"{previous[1]} / {gist}"
        previous[2] += words
    else:
        state.notes.append([state.index, gist, words])
    state.summary = render_summary(state, plan)
    limit = settings.RT.llm_summary_max_chars
    while len(state.summary) > limit and len(state.notes) > 1:
        state.notes.pop(0)
        state.summary = render_summary(state, plan)
    if len(state.summary) > limit:
        state.summary = state.summary[: limit - 1] + "…"


def render_summary(state: PlanState, plan: Plan) -> str:
    lines = []
    earliest = state.notes[0][0] if state.notes else 0
    if earliest > 0:
        lines.append(f"(Questions 1-{earliest} were answered earlier.)")
    for index, gist, words in state.notes:
        question = plan.question(index)
        label = f"Q{index + 1} {clip(question.text, 60)}" if question else "Introduction"
        lines.append(f"- {label} — {words} word{'' if words == 1 else 's'}: {clip(gist, 240)}")
    return "\n".join(lines)
