"""REST effects reach the live side: what the API does is broadcast to the
session's channel-layer group (and the lobby, for session.state), so a
REST-driven interview shows on dashboards. Events are sent after commit,
hence transactional tests; the layer is the in-memory one."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from interviews import events
from interviews.models import SessionEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_backend]


class Listener:
    """A test channel that joined some groups; `drain` returns the event dicts."""

    def __init__(self, *groups: str) -> None:
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        for group in groups:
            async_to_sync(self.layer.group_add)(group, self.channel)

    def drain(self) -> list[dict]:
        async def receive_all():
            received = []
            while True:
                try:
                    message = await asyncio.wait_for(self.layer.receive(self.channel), 0.3)
                except TimeoutError:
                    return received
                assert message["type"] == events.RELAY_TYPE
                received.append(message["event"])

        return async_to_sync(receive_all)()


def assert_wire_shape(event: dict, session) -> None:
    assert event["session_id"] == str(session.session_id)
    datetime.fromisoformat(event["ts"])
    if event["type"] in ("ai.delta", "transcript.partial", "presence"):
        assert "seq" not in event
    else:
        assert isinstance(event["seq"], int) and event["seq"] > 0
        stored = SessionEvent.objects.get(session=session, seq=event["seq"])
        assert stored.type == event["type"]  # persisted before it was broadcast


def test_rest_initialize_broadcasts_state_deltas_and_message(staff_client, session):
    listener = Listener(events.session_group(session.session_id))
    r = staff_client.post(
        "/api/ai-interview/",
        {"action": "initialize", "session_id": str(session.session_id)},
        format="json",
    )
    assert r.status_code == 200, r.content
    received = listener.drain()
    types = [e["type"] for e in received]
    assert types[0] == "session.state" and received[0]["status"] == "in_progress"
    assert received[0]["started_at"]
    assert types[-1] == "ai.message"
    deltas = [e for e in received if e["type"] == "ai.delta"]
    assert deltas and set(types[1:-1]) == {"ai.delta"}
    message = received[-1]
    assert message["text"] == r.json()["message"]
    assert "".join(d["text"] for d in deltas).strip() == message["text"]
    assert message["conversation_id"] == r.json()["conversation_id"]
    assert message["speaker"] == "ai" and message["question_id"] == r.json()["question_id"]
    for event in received:
        assert_wire_shape(event, session)
    assert received[0]["seq"] < message["seq"]


def test_rest_respond_broadcasts_the_turn_and_the_reply(staff_client, live_session):
    sid = str(live_session.session_id)
    listener = Listener(events.session_group(sid))
    observers = Listener(events.observers_group(sid))
    r = staff_client.post(
        "/api/ai-interview/",
        {"action": "respond", "session_id": sid, "student_response": "Because I like Go."},
        format="json",
    )
    assert r.status_code == 200, r.content
    received = listener.drain()
    persisted = [e for e in received if "seq" in e]
    assert [e["type"] for e in persisted] == ["turn.committed", "ai.message"]
    assert persisted[0]["text"] == "Because I like Go." and persisted[0]["speaker"] == "student"
    assert persisted[0]["seq"] < persisted[1]["seq"]
    for event in received:
        assert_wire_shape(event, live_session)
    metrics = observers.drain()
    assert [e["type"] for e in metrics] == ["metrics.turn"]
    assert metrics[0]["words"] == 4


def test_rest_transitions_reach_the_session_group_and_the_lobby(staff_client, session):
    listener = Listener(events.session_group(session.session_id))
    lobby = Listener(events.LOBBY_GROUP)
    assert staff_client.post(f"/api/sessions/{session.pk}/start/").status_code == 200
    assert staff_client.post(f"/api/sessions/{session.pk}/end/").status_code == 200
    received = listener.drain()
    assert [(e["type"], e.get("status") or e.get("reason")) for e in received] == [
        ("session.state", "in_progress"),
        ("session.state", "completed"),
        ("interview.ended", "end"),
    ]
    seqs = [e["seq"] for e in received]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert [e["status"] for e in lobby.drain()] == ["in_progress", "completed"]


@pytest.mark.parametrize(
    ("speaker", "event_type"), [("student", "turn.committed"), ("ai", "ai.message")]
)
def test_posting_a_conversation_broadcasts_it(staff_client, session, speaker, event_type):
    listener = Listener(events.session_group(session.session_id))
    question = session.questions.first()
    r = staff_client.post(
        "/api/conversations/",
        {
            "session": str(session.session_id),
            "speaker": speaker,
            "message": "Typed in by hand",
            "question": question.pk,
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    [event] = listener.drain()
    assert event["type"] == event_type and event["text"] == "Typed in by hand"
    assert event["conversation_id"] == r.json()["id"] and event["seq"] == r.json()["seq"]
    assert event["question_id"] == question.pk and event["speaker"] == speaker
    assert_wire_shape(event, session)


def test_a_refused_request_broadcasts_nothing(staff_client, session):
    listener = Listener(events.session_group(session.session_id))
    r = staff_client.post(f"/api/sessions/{session.pk}/end/")
    assert r.status_code == 409
    r = staff_client.post(
        "/api/questions/bulk_create/",
        {"questions": [{"session": session.pk, "question_text": ""}]},
        format="json",
    )
    assert r.status_code == 400
    assert listener.drain() == []
