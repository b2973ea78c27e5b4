"""The reads and writes the AI turn loop goes through: recent turns, a session's
question, queued suggestions, the AI reply saved whole, and ending a session
(the session_ending signal first)."""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import async_to_sync

from interviews import selectors, services, signals
from interviews.exceptions import InvalidTransition, NotFound
from interviews.models import Conversation, InterviewSession
from interviews.wire import EventType

pytestmark = [pytest.mark.django_db, pytest.mark.db_backend]


def events_after(session: InterviewSession, seq: int) -> list[tuple[int, str, dict]]:
    return [(e.seq, e.type, e.payload) for e in session.events.filter(seq__gt=seq).order_by("seq")]


def last_seq(session: InterviewSession) -> int:
    return InterviewSession.objects.values_list("last_seq", flat=True).get(pk=session.pk)


@pytest.fixture
def started(session):
    return services.transition_session(session=session, action="start")


# --- selectors ---------------------------------------------------------------


def test_recent_turns_are_the_last_rows_oldest_first(started):
    for i in range(5):
        speaker = Conversation.Speaker.AI if i % 2 == 0 else Conversation.Speaker.STUDENT
        services.add_conversation(session=started, speaker=speaker, message=f"m{i}")
    assert selectors.recent_turns(started, limit=3) == (
        ("ai", "m2"),
        ("student", "m3"),
        ("ai", "m4"),
    )
    assert len(selectors.recent_turns(started, limit=50)) == 5


def test_recent_turns_of_a_session_without_rows(session):
    assert selectors.recent_turns(session, limit=3) == ()


def test_session_question_by_id_only_from_its_session(session, interviewer, student):
    first = session.questions.order_by("order").first()
    other = services.create_session(interviewer=interviewer, student=student, title="Other")
    foreign = services.create_question(session=other, question_text="Not this session's")
    bank = services.create_question(question_text="In the bank")
    assert selectors.session_question(session, first.pk) == first
    assert selectors.session_question(session, None) is None
    assert selectors.session_question(session, foreign.pk) is None
    assert selectors.session_question(session, bank.pk) is None


# --- queue_suggestion ----------------------------------------------------------


def test_queue_suggestion_appends_to_ai_state_and_records_the_event(started):
    services.save_ai_state(
        session=started, state={"opened": True, "index": 0, "suggestions": ["First"]}
    )
    before = last_seq(started)
    event = services.queue_suggestion(
        session_uuid=started.session_id, text="Second", author="staff"
    )
    started.refresh_from_db()
    assert started.ai_state == {"opened": True, "index": 0, "suggestions": ["First", "Second"]}
    assert event.seq == before + 1 == started.last_seq
    assert events_after(started, before) == [
        (before + 1, EventType.OBSERVER_SUGGEST, {"text": "Second", "author": "staff"})
    ]
    assert event.audience == "observers"


def test_queue_suggestion_before_the_interview_opens(session):
    services.queue_suggestion(session_uuid=str(session.session_id), text="Ask X", author="staff")
    session.refresh_from_db()
    assert session.ai_state == {"suggestions": ["Ask X"]}


def test_queue_suggestion_for_an_unknown_session_is_not_found(db):
    with pytest.raises(NotFound):
        services.queue_suggestion(session_uuid=uuid.uuid4(), text="Ask X", author="staff")


# --- save_ai_reply ---------------------------------------------------------------


def reply(session, **overrides):
    arguments = {
        "session": session,
        "message": "Thanks. Next question: What are your strengths?",
        "question_id": session.questions.order_by("order")[1].pk,
        "ai_state": {"opened": True, "index": 1, "suggestions": [], "turns": 1},
        **overrides,
    }
    return services.save_ai_reply(**arguments)


def test_save_ai_reply_saves_the_row_state_and_events_in_order(started):
    question = started.questions.order_by("order")[1]
    before = last_seq(started)
    metrics = {"stt_final_ms": None, "llm_first_token_ms": 1.0, "llm_total_ms": 2.0}
    warning = {"code": "llm_fallback", "message": "The model failed; scripted words."}
    conversation = reply(started, warnings=[warning], metrics=metrics)

    assert (conversation.speaker, conversation.question_id) == ("ai", question.pk)
    assert conversation.seq == before + 2
    assert events_after(started, before) == [
        (before + 1, EventType.OBSERVER_WARNING, warning),
        (
            before + 2,
            EventType.AI_MESSAGE,
            {
                "conversation_id": conversation.pk,
                "speaker": "ai",
                "text": "Thanks. Next question: What are your strengths?",
                "question_id": question.pk,
            },
        ),
        (before + 3, EventType.METRICS_TURN, metrics),
    ]
    started.refresh_from_db()
    assert started.ai_state == {"opened": True, "index": 1, "suggestions": [], "turns": 1}
    assert started.last_seq == before + 3


def test_save_ai_reply_closing_words_record_interview_ended(started):
    before = last_seq(started)
    conversation = reply(
        started,
        message="Thank you for your time.",
        question_id=None,
        ai_state={"opened": True, "closed": True, "index": 2},
        closing_reason="time is up",
    )
    assert conversation.question_id is None
    assert [(seq, type_) for seq, type_, _ in events_after(started, before)] == [
        (before + 1, EventType.AI_MESSAGE),
        (before + 2, EventType.INTERVIEW_ENDED),
    ]
    assert events_after(started, before)[1][2] == {"reason": "time is up"}


def test_save_ai_reply_keeps_suggestions_that_arrived_while_it_streamed(started):
    # Loaded before the reply: one suggestion, which the reply asks.
    services.save_ai_state(session=started, state={"opened": True, "suggestions": ["Asked"]})
    streaming_state = {"opened": True, "suggestions": []}  # the director took "Asked"
    # Observers suggest more while the reply streams.
    services.queue_suggestion(session_uuid=started.session_id, text="Later", author="staff")
    services.queue_suggestion(session_uuid=started.session_id, text="Asked", author="other")
    reply(started, ai_state=streaming_state, used_suggestion="Asked")
    started.refresh_from_db()
    # The asked one is removed once; the ones that arrived meanwhile stay, in order.
    assert started.ai_state["suggestions"] == ["Later", "Asked"]


def test_save_ai_reply_without_a_used_suggestion_keeps_every_stored_one(started):
    services.save_ai_state(session=started, state={"suggestions": ["A", "B"]})
    reply(started, ai_state={"opened": True, "suggestions": []})
    started.refresh_from_db()
    assert started.ai_state["suggestions"] == ["A", "B"]


def test_save_ai_reply_is_all_or_nothing(started, monkeypatch):
    before_rows = started.conversations.count()
    before = last_seq(started)
    state = dict(InterviewSession.objects.get(pk=started.pk).ai_state)
    real = services.record_event

    def failing(*, session, type_, payload):
        if type_ == EventType.METRICS_TURN:
            raise RuntimeError("disk full")
        return real(session=session, type_=type_, payload=payload)

    monkeypatch.setattr(services, "record_event", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        reply(started, metrics={"words": 3})
    fresh = InterviewSession.objects.get(pk=started.pk)
    assert started.conversations.count() == before_rows
    assert (fresh.last_seq, fresh.ai_state) == (before, state)


# --- end_session / aend_session ----------------------------------------------------


@pytest.fixture
def ending_calls():
    """What session_ending receivers are told, and the status they see."""
    calls = []

    def receiver(sender, *, session, reason, **kwargs):
        status = InterviewSession.objects.values_list("status", flat=True).get(pk=session.pk)
        calls.append((sender, session.pk, reason, status))

    signals.session_ending.connect(receiver, dispatch_uid="test-ending")
    yield calls
    signals.session_ending.disconnect(dispatch_uid="test-ending")


def test_end_session_sends_session_ending_before_completing(started, ending_calls):
    before = last_seq(started)
    ended = services.end_session(session=started, reason="done")
    assert ending_calls == [(InterviewSession, started.pk, "done", "in_progress")]
    assert ended.status == "completed" and ended.ended_at
    # The AI never spoke: interview.ended is recorded once, by the status change.
    assert [(seq, type_) for seq, type_, _ in events_after(started, before)] == [
        (before + 1, EventType.SESSION_STATE),
        (before + 2, EventType.INTERVIEW_ENDED),
    ]


@pytest.mark.parametrize("status", ["scheduled", "completed", "cancelled"])
def test_end_session_from_a_wrong_status_is_409_without_the_signal(session, ending_calls, status):
    if status != "scheduled":
        services.transition_session(session=session, action="start")
        services.transition_session(
            session=session, action="end" if status == "completed" else "cancel"
        )
    stale = InterviewSession.objects.get(pk=session.pk)
    stale.status = InterviewSession.Status.IN_PROGRESS  # a stale copy is read again
    with pytest.raises(InvalidTransition) as caught:
        services.end_session(session=stale, reason="done")
    label = InterviewSession.Status(status).label.lower()
    assert caught.value.message == f"Cannot end a session that is {label} (status '{status}')."
    assert ending_calls == []
    assert InterviewSession.objects.get(pk=session.pk).status == status


def test_a_failing_receiver_stops_the_end(started):
    def receiver(sender, **kwargs):
        raise RuntimeError("closing words failed")

    signals.session_ending.connect(receiver, dispatch_uid="test-failing")
    try:
        with pytest.raises(RuntimeError, match="closing words failed"):
            services.end_session(session=started, reason="done")
    finally:
        signals.session_ending.disconnect(dispatch_uid="test-failing")
    assert InterviewSession.objects.get(pk=started.pk).status == "in_progress"


def test_aend_session_is_the_same_from_the_event_loop(started, ending_calls):
    ended = async_to_sync(services.aend_session)(session=started, reason="by candidate")
    assert ending_calls == [(InterviewSession, started.pk, "by candidate", "in_progress")]
    assert ended.status == "completed"
    with pytest.raises(InvalidTransition, match=r"Cannot end a session that is completed"):
        async_to_sync(services.aend_session)(session=started, reason="again")
    assert len(ending_calls) == 1
