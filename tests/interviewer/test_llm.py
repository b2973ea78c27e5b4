"""The director, the reply check, the sentence buffer and the bounded prompt."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.test import override_settings

from interviewer.director import advance, decide, follow_up_reason
from interviewer.guard import ReplyGuard, SentenceBuffer
from interviewer.plan import Move, MoveKind, Plan, PlannedQuestion, PlanState, record_answer
from interviewer.prompts import TurnContext, build_messages
from tests.fakes.openai_server import prompt_tokens

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
STRENGTHS = PlannedQuestion(
    2, "What are your strengths?", "Behavioral", "medium", "Concrete strengths backed by examples"
)
LEAK = PlannedQuestion(
    3,
    "How would you find the cause of a memory leak in a Python service?",
    "Technical",
    "hard",
    "Reproduce under load, compare tracemalloc snapshots over time, inspect reference "
    "cycles with gc, check caches and global registries, fix and add a regression test",
)
HASH = PlannedQuestion(
    4,
    "What is a hash map?",
    "Technical",
    "easy",
    "A hash map is a key-value store with O(1) average lookups",
)
KOREAN = PlannedQuestion(
    5,
    "데이터베이스 인덱스는 왜 사용하나요?",
    "Technical",
    "medium",
    "인덱스는 조회 속도를 높이기 위해 B-트리 구조로 정렬된 키를 유지합니다",
)
LONG = (
    "At my last job I owned the billing service end to end: I profiled the slow "
    "endpoints, rewrote the worst queries and cut p95 latency in half within a quarter."
)


def plan(*questions: PlannedQuestion, minutes: int = 30, started: datetime | None = NOW) -> Plan:
    return Plan(
        title="Backend Engineer",
        description="Python services.",
        candidate_name="Jane Smith",
        interviewer_name="John Doe",
        questions=questions or (STRENGTHS, LEAK),
        duration_minutes=minutes,
        started_at=started,
    )


def opened(p: Plan, index: int = 0, at: datetime = NOW) -> PlanState:
    state = PlanState()
    advance(state, decide(p, state, None, at), at)
    state.index = index
    return state


# --- the director -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("I code.", "thin answer"),
        ("I'm not sure, maybe something with the caches or the database, I guess.", "vague answer"),
        (
            "I am a hard worker and a team player who likes learning new things quickly.",
            "vague answer",
        ),
        (LONG, None),
    ],
)
def test_follow_up_reason(answer, reason):
    assert follow_up_reason(answer, STRENGTHS) == reason


def test_greeting_opens_with_the_first_question():
    p = plan()
    move = decide(p, PlanState(), None, NOW)
    assert move.kind is MoveKind.GREETING and move.question == STRENGTHS


def test_thin_answer_gets_at_most_max_follow_ups():
    p = plan()
    state = opened(p)
    first = decide(p, state, "Hard work.", NOW)
    assert first.kind is MoveKind.FOLLOW_UP and first.question == STRENGTHS
    advance(state, first, NOW)
    second = decide(p, state, "Just hard work.", NOW)
    assert second.kind is MoveKind.QUESTION and second.question == LEAK


def test_max_follow_ups_is_a_setting():
    p = plan()
    state = opened(p)
    with override_settings(RT=replace(settings.RT, max_follow_ups=2)):
        for _ in range(2):
            move = decide(p, state, "Hard work.", NOW)
            assert move.kind is MoveKind.FOLLOW_UP
            advance(state, move, NOW)
        assert decide(p, state, "Hard work.", NOW).kind is MoveKind.QUESTION
    with override_settings(RT=replace(settings.RT, max_follow_ups=0)):
        assert decide(p, opened(p), "Hard work.", NOW).kind is MoveKind.QUESTION


def test_moves_on_when_the_question_time_is_spent():
    p = plan(minutes=10)  # 2 questions: 5 minutes each
    state = opened(p)
    later = NOW + timedelta(minutes=6)
    assert decide(p, state, "Hard work.", later).kind is MoveKind.QUESTION


def test_wraps_up_when_the_budget_is_spent_or_the_plan_is_done():
    p = plan(minutes=10)
    state = opened(p)
    spent = decide(p, state, LONG, NOW + timedelta(minutes=10))
    assert spent.kind is MoveKind.CLOSING and spent.reason == "time budget spent"
    last = opened(p, index=1)
    done = decide(p, last, LONG, NOW)
    assert done.kind is MoveKind.CLOSING and done.reason == "plan done"


def test_observer_suggestion_comes_before_the_next_question():
    p = plan()
    state = opened(p)
    state.suggestions = ["Ask about code review"]
    move = decide(p, state, LONG, NOW)
    assert move.kind is MoveKind.SUGGESTION and move.suggestion == "Ask about code review"
    advance(state, move, NOW)
    assert state.suggestions == []
    assert decide(p, state, LONG, NOW).kind is MoveKind.QUESTION


# --- the reply check ------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "Thanks. How would you find the cause of a memory leak in a Python service?",
        "Could you give a concrete example of one of your strengths?",
        "What is a hash map, in your own words?",
        "Take your time; there is no rush.",
        "You mentioned 3 services; which one was hardest?",
        "데이터베이스 인덱스는 왜 사용하나요?",
    ],
)
def test_guard_lets_ordinary_interviewer_sentences_through(reply):
    assert ReplyGuard(plan(STRENGTHS, LEAK, HASH, KOREAN)).check(reply) is None


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("Strong candidates say: concrete strengths backed by examples.", "expected_answer"),
        ("You could compare tracemalloc snapshots over time.", "expected_answer"),
        ("A key-value store with O(1) average lookups is what I want.", "expected_answer"),
        ("The expected answer is something else entirely.", "expected_answer"),
        ("인덱스는 조회 속도를 높이기 위해 B-트리 구조를 씁니다.", "expected_answer"),
        ("So far you scored 4 out of 5.", "score"),
        ("That one gets 8/10 from me.", "score"),
        ("Your rating is 3 right now.", "score"),
        ("지금까지 점수는 좋습니다.", "score"),
        ("My recommendation is strong_yes.", "score"),
    ],
)
def test_guard_withholds_expected_answers_and_scores(reply, reason):
    assert ReplyGuard(plan(STRENGTHS, LEAK, HASH, KOREAN)).check(reply) == reason


def test_guard_sees_a_quote_split_over_two_pieces():
    guard = ReplyGuard(plan(STRENGTHS, LEAK))
    assert guard.check("Think about how you would reproduce under load.") is None
    assert guard.check("Compare tracemalloc snapshots, then decide.") == "expected_answer"


def test_guard_bag_of_key_terms_catches_a_reordered_answer():
    guard = ReplyGuard(plan(LEAK))
    reordered = "Use gc for reference cycles, tracemalloc snapshots, caches, registries and a regression test."
    assert guard.check(reordered) == "expected_answer"


# --- streaming by sentence ------------------------------------------------------------


def test_sentence_buffer_releases_whole_sentences():
    buffer = SentenceBuffer()
    out = []
    for piece in ["Thank", " you.", " Version 3.5", " is out! What", " next?"]:
        out += buffer.feed(piece)
    assert out == ["Thank you. ", "Version 3.5 is out! "]
    assert buffer.flush() == "What next?"


def test_sentence_buffer_releases_a_run_on_after_forty_words():
    buffer = SentenceBuffer()
    out = buffer.feed("word " * 45)
    assert len(out) == 1 and len(out[0].split()) == 40


# --- bounded prompts -----------------------------------------------------------------------


def test_prompt_has_the_rules_the_plan_and_the_move():
    p = plan()
    state = opened(p)
    move = Move(MoveKind.FOLLOW_UP, STRENGTHS, reason="thin answer")
    messages = build_messages(
        move, TurnContext(p, state, "Hard work.", (("ai", "Hi"), ("student", "Hard work.")))
    )
    system = messages[0]["content"]
    assert messages[0]["role"] == "system"
    assert "Never reveal, quote, paraphrase or hint at expected" in system
    assert "1. [Behavioral, medium] What are your strengths? (this turn)" in system
    assert "2. [Technical, hard] How would you find" in system and "(later)" in system
    assert "never say, quote or hint at it" in system  # the private reference for follow-ups
    assert [m["role"] for m in messages[1:]] == ["user", "assistant", "user"]
    assert messages[-1]["content"] == "Hard work."


def test_prompt_size_is_flat_over_a_long_interview():
    questions = tuple(
        PlannedQuestion(
            i,
            f"Question number {i}: describe a system you built with detail {i}.",
            "Technical",
            "medium",
            f"Expected points for question {i}: design, trade-offs, metrics.",
        )
        for i in range(1, 41)
    )
    p = plan(*questions, minutes=600)
    state = opened(p)
    recent: list[tuple[str, str]] = []
    sizes = {}
    answer = " ".join([LONG] * 2)
    for turn in range(1, 51):
        recent += [("student", f"Turn {turn}. {answer}")]
        move = decide(p, state, answer, NOW)
        messages = build_messages(move, TurnContext(p, state, answer, tuple(recent)))
        sizes[turn] = prompt_tokens({"messages": messages})
        record_answer(state, p, answer)
        advance(state, move, NOW)
        recent += [
            ("ai", f"Reply {turn}: thank you. {move.question.text if move.question else ''}")
        ]
        if turn == 50:
            text = "\n".join(m["content"] for m in messages)
            assert "Turn 50." in text and "Turn 40." not in text
    assert sizes[50] <= sizes[5] * 1.2, sizes
    assert sizes[20] <= sizes[5] * 1.2, sizes
    assert len(state.summary) <= settings.RT.llm_summary_max_chars
