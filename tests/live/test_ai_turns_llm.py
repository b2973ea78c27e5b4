"""A whole interview with the LLM interviewer against a local OpenAI-compatible
server: greeting, planned questions, a follow-up, an observer's suggestion,
wrap-up on the time budget, and the stored evaluation."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from interviewer import evaluation
from interviews.models import Conversation, InterviewSession, SessionEvent
from live import ai_turns
from live.frames import Turn
from tests.fakes.interview import LONG_ANSWER, Listener, deltas, of_type, question_ids
from tests.fakes.openai_server import Reply

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["tests.fakes.fixtures"]


def instruction(request) -> str:
    system = request.messages[0]
    assert system["role"] == "system"
    return system["content"].split("Instruction for this turn:", 1)[1]


async def test_whole_interview_plays_out(fake_llm, planned_session):
    sid = planned_session.session_id
    q1, q2, q3 = await question_ids(planned_session)
    listener = await Listener(sid).start()

    # Greeting: by name, then the first planned question, streamed token by token.
    fake_llm.script(
        Reply(
            "Hello Jane Smith, I'm your AI interviewer for Backend Engineer. "
            "Tell me about yourself."
        )
    )
    greeting = await ai_turns.initialize(sid)
    got = await listener.drain()
    assert greeting.source == "llm"
    assert greeting.text.startswith("Hello Jane Smith")
    assert len(deltas(got)) > 5, "the reply streams in many ai.delta chunks"
    assert "".join(deltas(got)).strip() == greeting.text
    assert of_type(got, "ai.message")[0]["question_id"] == q1
    prompt = instruction(fake_llm.requests[-1])
    assert "Greet Jane Smith by name" in prompt and '"Tell me about yourself"' in prompt
    assert fake_llm.requests[-1].body["stream"] is True
    assert fake_llm.requests[-1].headers["authorization"] == "Bearer test-key"

    # A thin answer gets one follow-up on the same question.
    fake_llm.script(Reply("Could you walk me through one project you built yourself?"))
    follow = await ai_turns.respond(sid, Turn(text="I write code."))
    assert "follow-up question" in instruction(fake_llm.requests[-1])
    assert follow.question_id == q1
    assert follow.text == "Could you walk me through one project you built yourself?"

    # A full answer moves on to the next planned question.
    fake_llm.script(Reply("Thank you for that. What are your strengths?"))
    second = await ai_turns.respond(sid, Turn(text=LONG_ANSWER))
    assert '"What are your strengths?"' in instruction(fake_llm.requests[-1])
    assert second.question_id == q2
    # The candidate's answer reaches the model as a user message, never as instructions.
    assert fake_llm.requests[-1].messages[-1] == {"role": "user", "content": LONG_ANSWER}

    # An observer's suggestion is asked next, in the interviewer's words.
    await ai_turns.add_suggestion(sid, "Ask how they handle code review feedback", "John Doe")
    fake_llm.script(Reply("I'd like to hear more: how do you handle feedback in code review?"))
    suggested = await ai_turns.respond(sid, Turn(text=LONG_ANSWER))
    assert "Ask how they handle code review feedback" in instruction(fake_llm.requests[-1])
    assert suggested.question_id == q2
    assert suggested.text.startswith("I'd like to hear more")

    fake_llm.script(Reply("Thanks. How would you find the cause of a memory leak in a service?"))
    third = await ai_turns.respond(sid, Turn(text=LONG_ANSWER))
    assert third.question_id == q3

    # The time budget runs out: the next reply wraps up instead of asking more.
    await InterviewSession.objects.filter(pk=planned_session.pk).aupdate(
        started_at=timezone.now() - timedelta(minutes=31)
    )
    questions = [
        {"question_id": q, "score": s, "rationale": f"Rationale {q}.", "seqs": []}
        for q, s in ((q1, 3), (q2, 4), (q3, 4))
    ]
    fake_llm.script(
        Reply("We are out of time. Thank you, Jane, the team will be in touch."),
        Reply(
            json.dumps(
                {
                    "questions": questions,
                    "strengths": ["Led a PostgreSQL migration"],
                    "concerns": ["Little on testing"],
                    "recommendation": "yes",
                    "summary": "Solid backend experience.",
                }
            )
        ),
    )
    closing = await ai_turns.respond(sid, Turn(text=LONG_ANSWER))
    last_turn = [r for r in fake_llm.requests if r.body.get("stream")][-1]
    assert "The time for this interview is up" in instruction(last_turn)
    assert closing.closed and closing.question_id is None
    got = await listener.drain()
    ended = of_type(got, "interview.ended")
    assert ended and ended[0]["reason"] == "time budget spent"

    # Every AI message is stored with the question it belongs to.
    rows = [
        (c.speaker, c.question_id)
        async for c in Conversation.objects.filter(session=planned_session).order_by("id")
    ]
    assert rows == [
        ("ai", q1),
        ("student", q1),
        ("ai", q1),
        ("student", q1),
        ("ai", q2),
        ("student", q2),
        ("ai", q2),
        ("student", q2),
        ("ai", q3),
        ("student", q3),
        ("ai", None),
    ]
    suggest = await SessionEvent.objects.filter(
        session=planned_session, type="observer.suggest"
    ).afirst()
    assert suggest.payload["text"] == "Ask how they handle code review feedback"

    # Metrics per turn carry the model's token counts.
    metrics = [
        e.payload
        async for e in SessionEvent.objects.filter(session=planned_session, type="metrics.turn")
    ]
    assert len(metrics) == 5
    assert all(m["llm_source"] == "llm" and m["llm_prompt_tokens"] > 0 for m in metrics)

    # The LLM evaluation (structured output) replaces the heuristic one.
    await evaluation.await_pending(sid)
    await planned_session.arefresh_from_db()
    stored = planned_session.evaluation
    evaluation.validate(stored)
    assert stored["kind"] == "llm" and stored["model"] == "fake-model"
    assert [q["question_id"] for q in stored["questions"]] == [q1, q2, q3]
    assert stored["overall_score"] == pytest.approx(11 / 3, abs=0.01)
    student_seqs = {
        c.seq async for c in Conversation.objects.filter(session=planned_session, question_id=q2)
    }
    assert set(stored["questions"][1]["seqs"]) == student_seqs
    eval_request = fake_llm.requests[-1]
    assert eval_request.body["response_format"]["type"] == "json_schema"
    assert "stream" not in eval_request.body


async def test_suggestion_sent_while_a_reply_streams_is_asked_next(fake_llm, planned_session):
    sid = planned_session.session_id
    fake_llm.script(Reply("Hello Jane Smith. Tell me about yourself."))
    await ai_turns.initialize(sid)
    fake_llm.script(
        Reply("Thank you. What are your strengths?", chunk_delay_s=0.05),
        Reply("Let me ask: what was your biggest mistake?"),
    )
    reply = asyncio.create_task(ai_turns.respond(sid, Turn(text=LONG_ANSWER)))
    await asyncio.sleep(0.1)
    assert not reply.done()
    await ai_turns.add_suggestion(sid, "Ask about their biggest mistake", "John Doe")
    await reply
    await planned_session.arefresh_from_db()
    assert planned_session.ai_state["suggestions"] == ["Ask about their biggest mistake"]
    following = await ai_turns.respond(sid, Turn(text=LONG_ANSWER))
    assert "Ask about their biggest mistake" in instruction(fake_llm.requests[-1])
    assert following.text == "Let me ask: what was your biggest mistake?"
    await planned_session.arefresh_from_db()
    assert planned_session.ai_state["suggestions"] == []
