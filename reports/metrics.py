"""Speaking metrics and talk time, computed from report data alone (pure).

Definitions (also in docs/reports.md):
- words of a turn: the recogniser's word list when the turn was spoken, else
  whitespace-separated tokens of the text (a Korean eojeol counts as a word);
- speaking rate: words of spoken answers / their speech time (end_s - start_s);
- response latency: per metrics.turn event, stt_final_ms + llm_first_token_ms
  (end of the answer to the AI's first words); without those events, the time
  between an answer's row and the next AI row (includes the whole AI reply);
- talk time: candidate = speech time of spoken answers plus typed answers
  estimated at ESTIMATED_WPM; AI = its words at ESTIMATED_WPM (the AI's voice
  is synthesised in the browser, so the server never measures it).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from interviews.wire import ClientType

from .data import ReportData, ReportTurn, TurnMetrics

ESTIMATED_WPM = 150.0


def word_count(turn: ReportTurn) -> int:
    words = turn.speech.get("words") if turn.speech else None
    if isinstance(words, list) and words:
        return len(words)
    return len(turn.text.split())


def speech_seconds(turn: ReportTurn) -> float | None:
    if not turn.spoken:
        return None
    try:
        seconds = float(turn.speech["end_s"]) - float(turn.speech["start_s"])
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


def unfinished_turns(turns: Sequence[ReportTurn]) -> set[int]:
    """Indices of candidate turns that were cut off rather than completed.

    A candidate turn is unfinished when the recogniser marked it partial, when
    it was closed by `ai_turns.end` (the candidate ended mid-answer), or when
    it is the last row of the transcript with no AI reply after it.
    """
    marked = set()
    for index, turn in enumerate(turns):
        if turn.speaker != "student":
            continue
        if (
            turn.speech.get("partial") is True
            or turn.speech.get("ended_by") == ClientType.INTERVIEW_END
        ):
            marked.add(index)
    if turns and turns[-1].speaker == "student":
        marked.add(len(turns) - 1)
    return marked


@dataclass(frozen=True)
class SpeakingMetrics:
    answers: int
    spoken_answers: int
    typed_answers: int
    words_per_minute: float | None
    answer_words_mean: float | None
    answer_words_median: float | None
    answer_words_max: int | None
    answer_seconds_mean: float | None
    latency_ms_median: float | None
    latency_ms_p90: float | None
    latency_samples: int
    latency_source: str  # "pipeline" | "timestamps" | ""
    candidate_talk_s: float
    candidate_talk_estimated_s: float  # the typed part, estimated from words
    ai_talk_s: float  # always estimated


def compute(data: ReportData) -> SpeakingMetrics:
    answers = [t for t in data.turns if t.speaker == "student"]
    ai_turns = [t for t in data.turns if t.speaker == "ai"]
    answer_words = [word_count(t) for t in answers]
    durations = [(word_count(t), speech_seconds(t)) for t in answers]
    spoken = [(w, s) for w, s in durations if s is not None]
    spoken_words = sum(w for w, _ in spoken)
    spoken_seconds = sum(s for _, s in spoken)
    typed_words = sum(w for w, s in durations if s is None)
    typed_seconds = typed_words / ESTIMATED_WPM * 60.0
    latencies, source = _latencies(data.turns, data.metrics)
    return SpeakingMetrics(
        answers=len(answers),
        spoken_answers=len(spoken),
        typed_answers=len(answers) - len(spoken),
        words_per_minute=spoken_words / (spoken_seconds / 60.0) if spoken_seconds > 0 else None,
        answer_words_mean=statistics.fmean(answer_words) if answer_words else None,
        answer_words_median=statistics.median(answer_words) if answer_words else None,
        answer_words_max=max(answer_words) if answer_words else None,
        answer_seconds_mean=spoken_seconds / len(spoken) if spoken else None,
        latency_ms_median=statistics.median(latencies) if latencies else None,
        latency_ms_p90=_percentile(latencies, 0.9) if latencies else None,
        latency_samples=len(latencies),
        latency_source=source,
        candidate_talk_s=spoken_seconds + typed_seconds,
        candidate_talk_estimated_s=typed_seconds,
        ai_talk_s=sum(word_count(t) for t in ai_turns) / ESTIMATED_WPM * 60.0,
    )


def _latencies(
    turns: Sequence[ReportTurn], metrics: Sequence[TurnMetrics]
) -> tuple[list[float], str]:
    measured = [
        float(m.stt_final_ms or 0) + float(m.llm_first_token_ms)
        for m in metrics
        if m.llm_first_token_ms is not None
    ]
    if measured:
        return measured, "pipeline"
    gaps = [
        (after.timestamp - before.timestamp).total_seconds() * 1000.0
        for before, after in zip(turns, turns[1:], strict=False)
        if before.speaker == "student" and after.speaker == "ai"
    ]
    gaps = [g for g in gaps if g >= 0]
    return gaps, "timestamps" if gaps else ""


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]
