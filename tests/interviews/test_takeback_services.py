"""Take-back's writes: a reply taken back (interviews/retraction.py: retract_reply) and the
reopened answer made whole (continue_answer), and the reads that
leave a retracted reply out."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from interviews import retraction, selectors, services
from interviews.exceptions import InvalidTransition
from interviews.models import Conversation, InterviewSession
from interviews.wire import EventType

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_backend]

STATE_BEFORE = {"opened": True, "closed": False, "index": 0, "turns": 0, "suggestions": []}
STATE_AFTER = {"opened": True, "closed": False, "index": 1, "turns": 1, "suggestions": []}


def events_after(session: InterviewSession, seq: int) -> list[tuple[str, dict]]:
    return [(e.type, e.payload) for e in session.events.filter(seq__gt=seq).order_by("seq")]


def last_seq(session: InterviewSession) -> int:
    return InterviewSession.objects.values_list("last_seq", flat=True).get(pk=session.pk)


@pytest.fixture
def answered(session):
    """A started session: the greeting, an answer (with a recording), the reply to it."""
    session = services.transition_session(session=session, action="start")
    services.add_conversation(session=session, speaker="ai", message="Hello. Q1?")
    answer = services.add_conversation(
        session=session,
        speaker="student",
        message="first half",
        audio_file=ContentFile(b"RIFF-first", name="a.wav"),
    )
    reply = services.save_ai_reply(
        session=session, message="Q2?", question_id=None, ai_state=STATE_AFTER
    )
    return session, answer, reply


def retract(session, answer, reply, **kwargs):
    return retraction.retract_reply(
        session=session,
        answer_id=answer.pk,
        reply_id=reply.pk,
        ai_state=kwargs.pop("ai_state", STATE_BEFORE),
        **kwargs,
    )


def test_retract_keeps_the_reply_marked_and_records_reopened_then_cancelled(answered):
    session, answer, reply = answered
    seq = last_seq(session)
    retract(session, answer, reply)
    reply.refresh_from_db()
    assert reply.retracted and reply.message == "Q2?"
    assert events_after(session, seq) == [
        (EventType.TURN_REOPENED, {"conversation_id": answer.pk}),
        (EventType.AI_CANCELLED, {"conversation_id": reply.pk}),
    ]
    stored = InterviewSession.objects.get(pk=session.pk).ai_state
    assert stored["index"] == 0 and stored["turns"] == 0


def test_retract_puts_back_the_suggestion_the_reply_asked_and_keeps_newer_ones(answered):
    session, answer, reply = answered
    services.queue_suggestion(session_uuid=session.session_id, text="Ask about CI", author="s")
    retract(session, answer, reply, used_suggestion="Ask about tests")
    stored = InterviewSession.objects.get(pk=session.pk).ai_state
    assert stored["suggestions"] == ["Ask about tests", "Ask about CI"]


def test_retract_refuses_when_the_reply_closed_the_interview(answered):
    session, answer, reply = answered
    services.save_ai_state(session=session, state={**STATE_AFTER, "closed": True})
    seq = last_seq(session)
    with pytest.raises(InvalidTransition, match="ended"):
        retract(session, answer, reply)
    reply.refresh_from_db()
    assert not reply.retracted and events_after(session, seq) == []


def test_retract_refuses_when_the_session_is_over(answered):
    session, answer, reply = answered
    services.transition_session(session=session, action="end")
    with pytest.raises(InvalidTransition, match="completed"):
        retract(session, answer, reply)
    reply.refresh_from_db()
    assert not reply.retracted


def test_retract_refuses_a_reply_that_is_not_the_last_turn(answered):
    session, answer, reply = answered
    services.add_conversation(session=session, speaker="student", message="later")
    with pytest.raises(InvalidTransition, match="not the last"):
        retract(session, answer, reply)


def test_continue_answer_updates_the_row_and_commits_the_whole_text(answered):
    session, answer, reply = answered
    retract(session, answer, reply)
    old_file = answer.audio_file.name
    storage = answer.audio_file.storage
    seq = last_seq(session)
    row = retraction.continue_answer(
        session=session,
        conversation_id=answer.pk,
        message="first half second half",
        audio_file=ContentFile(b"RIFF-whole", name="b.wav"),
        speech={"ended_by": "silence", "words": []},
    )
    assert row.pk == answer.pk
    assert events_after(session, seq) == [
        (
            EventType.TURN_COMMITTED,
            {
                "conversation_id": answer.pk,
                "speaker": "student",
                "text": "first half second half",
                "question_id": None,
            },
        )
    ]
    row.refresh_from_db()
    assert row.message == "first half second half" and row.seq == last_seq(session)
    assert row.audio_file.read() == b"RIFF-whole"
    assert not storage.exists(old_file)  # deleted once the update committed
    assert Conversation.objects.filter(session=session, speaker="student").count() == 1


def test_reads_leave_the_retracted_reply_out(answered):
    session, answer, reply = answered
    retract(session, answer, reply)
    assert [c.speaker for c in selectors.session_transcript(session)] == ["ai", "student"]
    assert selectors.recent_turns(session, limit=10) == (
        ("ai", "Hello. Q1?"),
        ("student", "first half"),
    )
    listed = selectors.conversation_list(session_uuid=session.session_id)
    assert reply.pk not in {c.pk for c in listed}
    everything = selectors.conversation_list(
        session_uuid=session.session_id, include_retracted=True
    )
    assert reply.pk in {c.pk for c in everything}
