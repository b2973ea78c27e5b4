"""The plain data a report is built from: no ORM objects, no settings.

reports.services fills these from the database; tests and benchmarks build
them directly. Datetimes are aware and already in the zone the report shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from interviews.wire import EventType


@dataclass(frozen=True)
class ReportQuestion:
    """A planned question as the report lists it (difficulty as displayed)."""

    id: int
    text: str
    category: str = ""
    difficulty: str = ""
    order: int = 0


@dataclass(frozen=True)
class ReportTurn:
    """One conversation row as the report shows it. `speech` is the recogniser's
    facts (empty when typed)."""

    seq: int | None
    speaker: str  # "ai" | "student"
    text: str
    timestamp: datetime
    question_id: int | None = None
    speech: dict[str, Any] = field(default_factory=dict)

    @property
    def spoken(self) -> bool:
        return bool(self.speech) and "end_s" in self.speech and "start_s" in self.speech

    @property
    def anchor(self) -> str | None:
        return f"turn-{self.seq}" if self.seq is not None else None


@dataclass(frozen=True)
class ObserverNote:
    seq: int
    kind: str  # EventType.OBSERVER_NOTE or EventType.OBSERVER_SUGGEST
    text: str
    author: str = ""
    ref_seq: int | None = None
    timestamp: datetime | None = None

    @property
    def is_suggestion(self) -> bool:
        return self.kind == EventType.OBSERVER_SUGGEST


@dataclass(frozen=True)
class TurnMetrics:
    """A metrics.turn event (milliseconds and seconds as the pipeline reports them)."""

    seq: int
    stt_final_ms: float | None = None
    llm_first_token_ms: float | None = None
    llm_total_ms: float | None = None
    words: int | None = None
    speech_s: float | None = None


@dataclass(frozen=True)
class EvaluatedQuestion:
    question_id: int | None
    question_text: str
    score: float | None
    rationale: str = ""
    seqs: tuple[int, ...] = ()


@dataclass(frozen=True)
class Evaluation:
    kind: str  # "llm" | "heuristic"
    model: str = ""
    generated_at: str = ""
    overall_score: float | None = None
    recommendation: str = ""
    summary: str = ""
    strengths: tuple[str, ...] = ()
    concerns: tuple[str, ...] = ()
    questions: tuple[EvaluatedQuestion, ...] = ()

    @property
    def heuristic(self) -> bool:
        return self.kind != "llm"

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> Evaluation | None:
        """Tolerant reading of InterviewSession.evaluation (shape in docs/reports.md)."""
        if not isinstance(raw, dict) or not raw:
            return None
        questions = []
        for item in raw.get("questions") or ():
            if not isinstance(item, dict):
                continue
            questions.append(
                EvaluatedQuestion(
                    question_id=_int_or_none(item.get("question_id")),
                    question_text=str(item.get("question_text") or ""),
                    score=_float_or_none(item.get("score")),
                    rationale=str(item.get("rationale") or ""),
                    seqs=tuple(
                        s for s in map(_int_or_none, item.get("seqs") or ()) if s is not None
                    ),
                )
            )
        return cls(
            kind=str(raw.get("kind") or "heuristic"),
            model=str(raw.get("model") or ""),
            generated_at=str(raw.get("generated_at") or ""),
            overall_score=_float_or_none(raw.get("overall_score")),
            recommendation=str(raw.get("recommendation") or ""),
            summary=str(raw.get("summary") or ""),
            strengths=tuple(str(s) for s in raw.get("strengths") or ()),
            concerns=tuple(str(s) for s in raw.get("concerns") or ()),
            questions=tuple(questions),
        )


@dataclass(frozen=True)
class ReportDecision:
    """A hiring decision as the report shows it (outcome as displayed)."""

    outcome: str  # "Advance" | "Hold" | "Reject"
    rationale: str
    decided_by: str
    decided_at: datetime


@dataclass(frozen=True)
class ReportData:
    session_id: str
    title: str
    candidate: str
    interviewer: str
    status: str
    generated_at: datetime
    candidate_email: str = ""
    interviewer_email: str = ""
    description: str = ""
    language: str = ""
    duration_minutes: int | None = None  # planned
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    questions: tuple[ReportQuestion, ...] = ()
    turns: tuple[ReportTurn, ...] = ()
    evaluation: Evaluation | None = None
    notes: tuple[ObserverNote, ...] = ()
    metrics: tuple[TurnMetrics, ...] = ()
    decisions: tuple[ReportDecision, ...] = ()  # newest (the current one) first


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float_or_none(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
