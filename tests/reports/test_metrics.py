"""Speaking metrics and unfinished turns, from plain data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reports import metrics
from reports.data import ReportData, ReportTurn, TurnMetrics

T0 = datetime(2026, 2, 1, 10, 0, tzinfo=UTC)


def turn(seq, speaker, text, seconds, **speech):
    return ReportTurn(seq, speaker, text, T0 + timedelta(seconds=seconds), None, speech)


def data(turns, metric_rows=()):
    return ReportData(
        session_id="s",
        title="t",
        candidate="c",
        interviewer="i",
        status="Completed",
        generated_at=T0,
        turns=tuple(turns),
        metrics=tuple(metric_rows),
    )


def test_rate_uses_speech_time_and_typed_answers_are_estimated():
    rows = [
        turn(1, "ai", "one two three", 0),
        turn(2, "student", "a b c d e f", 5, start_s=1.0, end_s=4.0),  # 6 words in 3 s
        turn(3, "ai", "x " * 150, 10),  # 150 words: one estimated minute
        turn(4, "student", "typed " * 75, 20),  # 75 typed words: half a minute
        turn(5, "ai", "bye", 30),
    ]
    result = metrics.compute(data(rows))
    assert result.words_per_minute == pytest.approx(120.0)
    assert (result.answers, result.spoken_answers, result.typed_answers) == (2, 1, 1)
    assert result.answer_words_max == 75
    assert result.candidate_talk_s == pytest.approx(3.0 + 30.0)
    assert result.candidate_talk_estimated_s == pytest.approx(30.0)
    assert result.ai_talk_s == pytest.approx((3 + 150 + 1) / 150 * 60)


def test_latency_prefers_pipeline_measurements_then_row_timestamps():
    rows = [turn(1, "ai", "q", 0), turn(2, "student", "a", 10), turn(3, "ai", "q2", 12.5)]
    measured = metrics.compute(
        data(rows, [TurnMetrics(4, stt_final_ms=150, llm_first_token_ms=650)])
    )
    assert (measured.latency_source, measured.latency_ms_median) == ("pipeline", 800)
    from_rows = metrics.compute(data(rows))
    assert (from_rows.latency_source, from_rows.latency_ms_median) == ("timestamps", 2500)
    assert metrics.compute(data([])).latency_source == ""


def test_unfinished_turns():
    rows = [
        turn(1, "ai", "q", 0),
        turn(2, "student", "cut off", 5, start_s=0, end_s=1, ended_by="interview.end"),
        turn(3, "ai", "q", 6),
        turn(4, "student", "partial", 7, partial=True),
        turn(5, "ai", "q", 8),
        turn(6, "student", "finished", 9, start_s=0, end_s=1, ended_by="silence"),
        turn(7, "ai", "thanks", 10),
    ]
    assert metrics.unfinished_turns(rows) == {1, 3}
    # No AI reply after the last answer: the interview stopped mid-turn.
    assert metrics.unfinished_turns(rows[:6]) == {1, 3, 5}
    assert metrics.unfinished_turns([]) == set()


def test_word_count_prefers_the_recogniser_words():
    spoken = turn(1, "student", "ignored text here", 0, words=[{"word": "x"}], start_s=0, end_s=1)
    assert metrics.word_count(spoken) == 1
    assert metrics.word_count(turn(2, "student", "저는 소프트웨어 엔지니어입니다", 0)) == 3
