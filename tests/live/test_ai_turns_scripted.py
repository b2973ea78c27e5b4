"""The scripted interviewer (no LLM configured): the same plan, fixed wording."""

from __future__ import annotations

import pytest

from interviews.exceptions import InvalidTransition
from interviews.models import Conversation, InterviewSession
from live import ai_turns
from live.frames import Turn
from tests.fakes.interview import LONG_ANSWER, Listener, make_session, question_ids, replies

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["tests.fakes.fixtures"]


async def run_interview(session) -> list[str]:
    sid = session.session_id
    said = [(await ai_turns.initialize(sid)).text]
    for text in ("I code.", "Still just code.", LONG_ANSWER, LONG_ANSWER):
        said.append((await ai_turns.respond(sid, Turn(text=text))).text)
    return said


async def test_scripted_interview_follows_the_plan(no_llm, planned_session):
    listener = await Listener(planned_session.session_id).start()
    said = await run_interview(planned_session)
    assert said == [
        "Hello Jane Smith, welcome to the Backend Engineer interview. I'm your AI "
        "interviewer. Take your time with each answer. Let's begin. Tell me about yourself",
        # One follow-up for a short answer, then on to the next question.
        "Could you tell me more? A concrete example, what you did yourself and how it "
        "turned out would help.",
        "Thank you. Next question: What are your strengths?",
        "Thank you. Next question: How would you find the cause of a memory leak in a "
        "Python service?",
        "Thank you for your time, Jane Smith. That concludes our interview; the team will "
        "be in touch about next steps.",
    ]
    got = await listener.drain()
    assert replies(got) == said
    assert [e["text"] for e in got if e["type"] == "ai.message"] == said
    q1, q2, q3 = await question_ids(planned_session)
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
        ("ai", q3),
        ("student", q3),
        ("ai", None),
    ]
    await planned_session.arefresh_from_db()
    assert planned_session.evaluation["kind"] == "heuristic"


async def test_scripted_wording_is_deterministic(no_llm, interviewer, student, planned_session):
    from channels.db import database_sync_to_async

    other = await database_sync_to_async(make_session)(interviewer, student)
    assert await run_interview(planned_session) == await run_interview(other)


async def test_scripted_suggestion_and_time_closing(no_llm, planned_session):
    from datetime import timedelta

    from django.utils import timezone

    from interviews.models import InterviewSession

    sid = planned_session.session_id
    await ai_turns.initialize(sid)
    await ai_turns.add_suggestion(sid, "What was your biggest mistake?", "John Doe")
    reply = await ai_turns.respond(sid, Turn(text=LONG_ANSWER))
    assert reply.text == "Let me follow up on that. What was your biggest mistake?"
    await InterviewSession.objects.filter(pk=planned_session.pk).aupdate(
        started_at=timezone.now() - timedelta(minutes=30)
    )
    closing = await ai_turns.respond(sid, Turn(text=LONG_ANSWER))
    assert closing.closed
    assert closing.text.startswith("We have reached the end of our time. Thank you for your time")


async def test_an_answer_refused_before_the_start_or_after_the_end_saves_nothing(
    no_llm, planned_session
):
    sid = planned_session.session_id

    async def saved() -> tuple[int, int]:
        rows = await Conversation.objects.filter(session=planned_session).acount()
        return rows, (await InterviewSession.objects.aget(pk=planned_session.pk)).last_seq

    fresh = await saved()
    with pytest.raises(InvalidTransition, match="initialize"):
        await ai_turns.respond(sid, Turn(text="Too early."))
    assert await saved() == fresh
    await run_interview(planned_session)  # ends with the closing words
    before = await saved()
    with pytest.raises(InvalidTransition, match="no more answers|not in progress"):
        await ai_turns.respond(sid, Turn(text="Too late."))
    assert await saved() == before


async def test_finish_ends_through_the_domain_service_and_the_ai_closes_once(
    no_llm, planned_session, monkeypatch
):
    from interviews import services
    from interviews.models import SessionEvent
    from interviews.wire import EventType

    calls = []
    aend_session = services.aend_session

    async def spy(*, session, reason):
        calls.append(reason)
        return await aend_session(session=session, reason=reason)

    monkeypatch.setattr(services, "aend_session", spy)
    sid = planned_session.session_id
    await ai_turns.initialize(sid)
    ended = await ai_turns.finish(sid, "ended by candidate")
    assert calls == ["ended by candidate"] and ended.status == "completed"
    last = await Conversation.objects.filter(session=planned_session).order_by("-id").afirst()
    assert last.speaker == "ai" and last.message.startswith("Thank you for your time")
    reasons = [
        e.payload["reason"]
        async for e in SessionEvent.objects.filter(
            session=planned_session, type=EventType.INTERVIEW_ENDED
        )
    ]
    assert reasons == ["ended by candidate"]
    with pytest.raises(InvalidTransition, match="Cannot end a session that is completed"):
        await ai_turns.finish(sid)


async def test_close_says_nothing_unless_the_conversation_is_open(no_llm, planned_session):
    sid = planned_session.session_id
    assert await ai_turns.close(sid, "ended") is None  # never opened: nothing to close
    with pytest.raises(InvalidTransition, match="not been initialized"):
        await ai_turns.end(sid)
    await ai_turns.initialize(sid)
    closing = await ai_turns.close(sid, "ended")
    assert closing.closed and closing.text.startswith("Thank you for your time")
    assert await ai_turns.close(sid, "ended") is None  # closed already
    assert await ai_turns.end(sid) is None
