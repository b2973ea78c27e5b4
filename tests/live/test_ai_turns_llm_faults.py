"""Injected LLM faults end in the scripted fallback: nothing lost, no stall,
exactly one ai.message per turn, observers warned."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from django.conf import settings
from django.test import override_settings

from interviewer import evaluation
from interviews.models import Conversation, SessionEvent
from live import ai_turns
from live.frames import Turn
from tests.fakes.interview import LONG_ANSWER, Listener, deltas, of_type, question_ids
from tests.fakes.openai_server import Fault, Reply

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["tests.fakes.fixtures"]

NO_STALL_S = 5.0


async def opened(server, session) -> Listener:
    """Greeted by the model; the listener has drained the greeting."""
    server.script(Reply("Hello Jane Smith, welcome. Tell me about yourself."))
    await asyncio.wait_for(ai_turns.initialize(session.session_id), NO_STALL_S)
    listener = await Listener(session.session_id).start()
    return listener


async def answer(session, text: str = LONG_ANSWER):
    return await asyncio.wait_for(ai_turns.respond(session.session_id, Turn(text=text)), NO_STALL_S)


async def ai_messages(session) -> list[str]:
    return [
        c.message
        async for c in Conversation.objects.filter(session=session, speaker="ai").order_by("id")
    ]


async def warnings(session) -> list[dict]:
    return [
        e.payload
        async for e in SessionEvent.objects.filter(
            session=session, type="observer.warning", audience="observers"
        ).order_by("seq")
    ]


async def test_one_transient_error_is_retried(fake_llm, planned_session):
    listener = await opened(fake_llm, planned_session)
    fake_llm.script(Fault("status", status=500), Reply("Thanks. What are your strengths?"))
    result = await answer(planned_session)
    assert result.source == "llm"
    assert result.text == "Thanks. What are your strengths?"
    assert len(fake_llm.requests) == 3  # greeting, the failed request, the retry
    assert await warnings(planned_session) == []
    got = await listener.drain()
    assert "".join(deltas(got)).strip() == result.text


async def test_error_after_retry_falls_back_to_scripted_turn(fake_llm, planned_session):
    listener = await opened(fake_llm, planned_session)
    _, q2, _ = await question_ids(planned_session)
    fake_llm.script(Fault("status", status=500), Fault("status", status=503))
    result = await answer(planned_session)
    assert result.source == "fallback"
    assert result.text == "Thank you. Next question: What are your strengths?"
    assert result.question_id == q2
    got = await listener.drain()
    assert "".join(deltas(got)).strip() == result.text
    assert [e["text"] for e in of_type(got, "ai.message")] == [result.text]
    warned = of_type(got, "observer.warning")
    assert len(warned) == 1 and warned[0]["code"] == "llm_fallback"
    assert "seq" in warned[0], "the warning is persisted"
    assert (await warnings(planned_session))[0]["code"] == "llm_fallback"
    assert await ai_messages(planned_session) == [
        "Hello Jane Smith, welcome. Tell me about yourself.",
        result.text,
    ]
    metrics = await SessionEvent.objects.filter(
        session=planned_session, type="metrics.turn"
    ).alast()
    assert metrics.payload["llm_source"] == "fallback" and metrics.payload["llm_attempts"] == 2


async def test_timeouts_fall_back_without_stalling(fake_llm, planned_session):
    await opened(fake_llm, planned_session)
    quick = replace(settings.RT, llm_timeout_s=0.3)
    fake_llm.script(Fault("delay", delay_s=3.0), Fault("delay", delay_s=3.0))
    with override_settings(RT=quick):
        started = time.perf_counter()
        result = await answer(planned_session)
        elapsed = time.perf_counter() - started
    assert result.source == "fallback"
    assert result.text == "Thank you. Next question: What are your strengths?"
    assert elapsed < 2.0, f"two 0.3 s timeouts took {elapsed:.2f} s"
    assert [w["code"] for w in await warnings(planned_session)] == ["llm_fallback"]


async def test_slow_trickle_is_cut_by_the_turn_deadline(fake_llm, planned_session):
    """A server that keeps sending, too slowly, cannot hold the turn past the timeout."""
    await opened(fake_llm, planned_session)
    slow = Reply("Thanks. " + "very " * 50 + "long.", chunk_delay_s=0.05)
    fake_llm.script(slow, slow)
    with override_settings(RT=replace(settings.RT, llm_timeout_s=0.5)):
        started = time.perf_counter()
        result = await answer(planned_session)
        elapsed = time.perf_counter() - started
    assert elapsed < 2.5
    # "Thanks. " was checked and sent before the deadline; the scripted recovery follows.
    assert result.text == "Thanks. Next question: What are your strengths?"
    assert result.source == "fallback"


async def test_stream_cut_mid_reply_keeps_what_was_sent_and_finishes_scripted(
    fake_llm, planned_session
):
    listener = await opened(fake_llm, planned_session)
    fake_llm.script(Fault("cut", text="Thank you, that was helpful. Now let me ask about"))
    result = await answer(planned_session)
    got = await listener.drain()
    sent = "".join(deltas(got))
    # The checked first sentence went out; the scripted recovery asks the question.
    assert sent.startswith("Thank you, that was helpful. ")
    assert result.text == "Thank you, that was helpful. Next question: What are your strengths?"
    assert sent.strip() == result.text
    assert len(fake_llm.requests) == 2, "no retry once words reached the candidate"
    assert [e["text"] for e in of_type(got, "ai.message")] == [result.text]
    assert [w["code"] for w in await warnings(planned_session)] == ["llm_fallback"]
    assert "APIConnectionError" in (await warnings(planned_session))[0]["message"]


async def test_stream_cut_before_any_sentence_is_retried(fake_llm, planned_session):
    listener = await opened(fake_llm, planned_session)
    fake_llm.script(Fault("cut", text="Thank you for"), Reply("Thanks. What are your strengths?"))
    result = await answer(planned_session)
    got = await listener.drain()
    assert result.source == "llm"
    assert "".join(deltas(got)).strip() == "Thanks. What are your strengths?"
    assert "Thank you for" not in "".join(deltas(got))


async def test_malformed_stream_json_falls_back(fake_llm, planned_session):
    listener = await opened(fake_llm, planned_session)
    fake_llm.script(Fault("bad_json_chunk", text="Thanks"), Fault("bad_json_chunk", text="Thanks"))
    result = await answer(planned_session)
    got = await listener.drain()
    assert result.source == "fallback"
    assert "".join(deltas(got)).strip() == result.text
    assert result.text == "Thank you. Next question: What are your strengths?"
    assert len(of_type(got, "ai.message")) == 1


async def test_greeting_falls_back_when_the_model_is_down(fake_llm, planned_session):
    fake_llm.script(Fault("status", status=500), Fault("status", status=500))
    result = await asyncio.wait_for(ai_turns.initialize(planned_session.session_id), NO_STALL_S)
    assert result.source == "fallback"
    assert result.text.startswith("Hello Jane Smith, welcome to the Backend Engineer interview.")
    assert result.text.endswith("Let's begin. Tell me about yourself")


async def test_configuration_error_is_not_retried(fake_llm, planned_session):
    await opened(fake_llm, planned_session)
    fake_llm.script(Fault("status", status=401))
    result = await answer(planned_session)
    assert result.source == "fallback"
    assert len(fake_llm.requests) == 2
    assert "401" in (await warnings(planned_session))[0]["message"]


async def test_a_whole_interview_with_the_model_down_loses_nothing(fake_llm, planned_session):
    fake_llm.responder = lambda body: Fault("status", status=500)
    sid = planned_session.session_id
    listener = await Listener(sid).start()
    await asyncio.wait_for(ai_turns.initialize(sid), NO_STALL_S)
    answers = ["Short.", LONG_ANSWER, LONG_ANSWER, LONG_ANSWER]
    results = [await answer(planned_session, text) for text in answers]
    assert results[-1].closed
    got = await listener.drain()
    committed = of_type(got, "turn.committed")
    replies = of_type(got, "ai.message")
    assert [e["text"] for e in committed] == answers
    assert len(replies) == len(answers) + 1  # the greeting, then one per answer
    assert replies[1]["text"].startswith("Could you tell me more?")
    # One warning per turn (greeting included), then one for the evaluation.
    await evaluation.await_pending(sid)
    codes = [w["code"] for w in await warnings(planned_session)]
    assert codes == ["llm_fallback"] * 5 + ["evaluation_fallback"]
    await planned_session.arefresh_from_db()
    assert planned_session.evaluation["kind"] == "heuristic"
