"""The interview over WebSockets with typed answers: events, order, resume,
close codes and errors as CONTRACT.md section 2 says."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from interviews import services
from interviews.models import AuditEntry, Conversation, SessionEvent

from .helpers import cand, close_code, connect, drain, events_until, next_event, obs, persisted

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.channel_layer]


async def test_typed_interview_reaches_candidate_and_observer_in_the_same_order(
    session, staff_token
):
    candidate = await connect(cand(session))
    observer = await connect(obs(session, staff_token))
    await candidate.send_json_to({"type": "interview.start"})
    got = await events_until(candidate, "ai.message")
    types = [e["type"] for e in got if e["type"] != "presence"]
    assert types[0] == "session.state" and types[-1] == "ai.message"
    assert "ai.delta" in types
    greeting = got[-1]
    assert "Jane Smith" in greeting["text"] and "Tell me about yourself" in greeting["text"]
    deltas = "".join(e["text"] for e in got if e["type"] == "ai.delta")
    assert deltas.strip() == greeting["text"]
    for event in got:
        assert event["session_id"] == str(session.session_id) and event["ts"]

    await candidate.send_json_to(
        {
            "type": "answer.text",
            "text": "I build streaming speech systems in Python and I lead a small team.",
        }
    )
    got2 = await events_until(candidate, "ai.message")
    committed = [e for e in got2 if e["type"] == "turn.committed"]
    assert len(committed) == 1 and committed[0]["speaker"] == "student"
    assert committed[0]["text"].startswith("I build streaming")
    assert "What are your strengths?" in got2[-1]["text"]

    seen_by_observer = await events_until(observer, "ai.message", count=2)
    assert persisted(seen_by_observer)[: len(persisted(got + got2))] == persisted(got + got2)
    metrics = await events_until(observer, "metrics.turn")
    assert metrics[-1]["words"] == 13 and metrics[-1]["llm_first_token_ms"] >= 0

    rows = await database_sync_to_async(
        lambda: list(Conversation.objects.filter(session=session).values_list("speaker", "seq"))
    )()
    assert [r[0] for r in rows] == ["ai", "student", "ai"]
    assert all(seq for _, seq in rows)
    await candidate.disconnect()
    await observer.disconnect()


async def test_resume_replays_exactly_the_missed_events(session):
    candidate = await connect(cand(session))
    await candidate.send_json_to({"type": "interview.start"})
    first = await events_until(candidate, "ai.message")
    last_seen = max(seq for seq, _ in persisted(first))
    await candidate.disconnect()

    # While the candidate is away, an answer arrives through REST-equivalent code.
    from live import ai_turns
    from live.frames import Turn

    await ai_turns.respond(
        session.session_id, Turn(text="A typed answer sent while the candidate's socket was down.")
    )
    missed = await database_sync_to_async(
        lambda: list(
            SessionEvent.objects.filter(
                session=session, seq__gt=last_seen, audience="all"
            ).values_list("seq", "type")
        )
    )()
    assert [t for _, t in missed] == ["turn.committed", "ai.message"]

    again = await connect(cand(session))
    await again.send_json_to({"type": "resume", "after_seq": last_seen})
    replayed = []
    while len(replayed) < len(missed):
        event = await next_event(again)
        if "seq" in event:
            replayed.append((event["seq"], event["type"]))
    assert replayed == missed
    assert persisted(await drain(again)) == []  # nothing persisted is sent twice
    await again.disconnect()


async def test_observer_notes_stay_with_observers_and_are_persisted(session, staff_token):
    candidate = await connect(cand(session))
    observer = await connect(obs(session, staff_token))
    await observer.send_json_to(
        {"type": "observer.note", "text": "Strong on streaming", "ref_seq": 1}
    )
    note = (await events_until(observer, "observer.note"))[-1]
    assert (
        note["text"] == "Strong on streaming" and note["author"] == "staff" and note["ref_seq"] == 1
    )
    await observer.send_json_to({"type": "observer.suggest", "text": "Ask about back-pressure."})
    suggest = (await events_until(observer, "observer.suggest"))[-1]
    assert suggest["text"] == "Ask about back-pressure."
    for event in await drain(candidate):
        assert not event["type"].startswith("observer."), event
    kinds = await database_sync_to_async(
        lambda: list(
            SessionEvent.objects.filter(session=session, audience="observers").values_list(
                "type", flat=True
            )
        )
    )()
    assert kinds == ["observer.note", "observer.suggest"]
    # Both are staff actions on the interview's audit trail, by the observer.
    audit = await database_sync_to_async(
        lambda: list(
            AuditEntry.objects.filter(session=session).values_list("action", "actor__username")
        )
    )()
    assert audit == [("note", "staff"), ("suggestion", "staff")]
    await candidate.disconnect()
    await observer.disconnect()


async def test_suggestion_is_asked_next_in_the_interviewers_words(session, staff_token):
    candidate = await connect(cand(session))
    observer = await connect(obs(session, staff_token))
    await candidate.send_json_to({"type": "interview.start"})
    await events_until(candidate, "ai.message")
    await observer.send_json_to(
        {"type": "observer.suggest", "text": "How do you handle back-pressure?"}
    )
    await events_until(observer, "observer.suggest")
    await candidate.send_json_to(
        {
            "type": "answer.text",
            "text": "I have built several real-time systems with queues and workers over the years.",
        }
    )
    reply = (await events_until(candidate, "ai.message"))[-1]
    assert "How do you handle back-pressure?" in reply["text"]
    await candidate.disconnect()
    await observer.disconnect()


async def test_ping_presence_and_lobby(session, staff_token):
    lobby = await connect(f"/ws/observe/?token={staff_token}")
    candidate = await connect(cand(session))
    presence = (await events_until(candidate, "presence"))[-1]
    assert presence["candidate"] is True and presence["observers"] == 0
    observer = await connect(obs(session, staff_token))
    presence = (await events_until(candidate, "presence"))[-1]
    assert presence == {**presence, "candidate": True, "observers": 1}
    await candidate.send_json_to({"type": "ping"})
    assert (await events_until(candidate, "pong"))[-1]["type"] == "pong"
    await candidate.send_json_to({"type": "interview.start"})
    state = (await events_until(lobby, "session.state"))[-1]
    assert state["status"] == "in_progress" and state["session_id"] == str(session.session_id)
    await observer.disconnect()
    presence = (await events_until(candidate, "presence"))[-1]
    assert presence["observers"] == 0
    await candidate.disconnect()
    await lobby.disconnect()


async def test_interview_end_closes_with_the_ai_and_completes_the_session(session):
    candidate = await connect(cand(session))
    await candidate.send_json_to({"type": "interview.start"})
    await events_until(candidate, "ai.message")
    await candidate.send_json_to({"type": "answer.text", "text": "Half an answer"})
    await candidate.send_json_to({"type": "interview.end"})
    got = await events_until(candidate, "session.state", count=1)
    types = [e["type"] for e in got]
    assert types.count("turn.committed") == 1
    assert "interview.ended" in types
    closing = [e for e in got if e["type"] == "ai.message"][-1]
    assert "Thank you for your time" in closing["text"]
    assert got[-1]["status"] == "completed"
    await candidate.disconnect()


async def test_a_new_candidate_connection_replaces_the_old_one(session):
    first = await connect(cand(session))
    second = await connect(cand(session))
    got = []
    while True:
        out = await first.receive_output(timeout=5)
        if out["type"] == "websocket.close":
            assert out["code"] == 4409
            break
        got.append(out)
    assert any('"replaced"' in o.get("text", "") for o in got)
    await second.send_json_to({"type": "ping"})
    assert (await events_until(second, "pong"))[-1]["type"] == "pong"
    await second.disconnect()


async def test_an_older_connections_late_notice_does_not_close_the_newer_one(session):
    """Two windows opened at once: the first one's "I replace you" notice can
    reach the second after the second joined. The newer connection stays."""
    from channels.layers import get_channel_layer

    from consumers.interview import candidate_group
    from live import presence

    older = "specific.older-window!1"  # joined first; its notice is late
    await database_sync_to_async(presence.join)(
        session=session, channel_name=older, role="candidate"
    )
    newer = await connect(cand(session))
    await newer.send_json_to({"type": "ping"})
    await events_until(newer, "pong")  # joined
    await get_channel_layer().group_send(
        candidate_group(session.session_id), {"type": "candidate.replace", "by": older}
    )
    await newer.send_json_to({"type": "ping"})
    events = await events_until(newer, "pong")
    assert not any(e.get("code") == "replaced" for e in events)
    assert events[-1]["type"] == "pong"
    await newer.disconnect()


async def test_close_codes(session, student, interviewer, staff_token, plain_token):
    other = await database_sync_to_async(services.create_session)(
        interviewer=interviewer, student=student, title="Other"
    )
    sid = session.session_id
    assert await close_code(f"/ws/interview/{sid}/") == 4401
    assert await close_code(f"/ws/interview/{sid}/?token=nope") == 4401
    assert await close_code(f"/ws/interview/{sid}/?token={other.join_token}") == 4403
    assert await close_code(f"/ws/interview/{sid}/?token={staff_token}") == 4403
    assert await close_code("/ws/interview/2d7bd1b7-1b43-4a44-9d1e-2a3e0c0b8f11/?token=x") == 4404
    assert await close_code("/ws/interview/not-a-uuid/?token=x") == 4404
    assert await close_code(f"/ws/observe/{sid}/") == 4401
    assert await close_code(f"/ws/observe/{sid}/?token=nope") == 4401
    assert await close_code(f"/ws/observe/{sid}/?token={plain_token}") == 4403
    assert await close_code(f"/ws/observe/{sid}/?token={session.join_token}") == 4403
    assert (
        await close_code(f"/ws/observe/2d7bd1b7-1b43-4a44-9d1e-2a3e0c0b8f11/?token={staff_token}")
        == 4404
    )
    assert await close_code("/ws/observe/") == 4401
    assert await close_code(f"/ws/observe/?token={plain_token}") == 4403
    assert await close_code("/ws/asr/") == 4401
    assert await close_code(f"/ws/asr/?token={plain_token}") == 4403


async def test_completed_session_link_is_refused(session):
    await database_sync_to_async(services.transition_session)(session=session, action="cancel")
    assert await close_code(cand(session)) == 4403


async def test_wrong_origin_is_refused(session):
    from channels.testing import WebsocketCommunicator

    from interview_rt.asgi import application

    comm = WebsocketCommunicator(
        application, cand(session), headers=[(b"origin", b"http://evil.example")]
    )
    connected, _ = await comm.connect(timeout=5)
    assert not connected


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_json"),
        ('["a list"]', "bad_json"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "answer.text"}', "bad_field"),
        ('{"type": "answer.text", "text": "   "}', "bad_field"),
        ('{"type": "resume", "after_seq": -1}', "bad_field"),
        ('{"type": "resume", "after_seq": "3"}', "bad_field"),
        ('{"type": "audio.config", "sample_rate": 4000}', "bad_field"),
        ('{"type": "observer.note", "text": "x"}', "unknown_type"),
    ],
)
async def test_malformed_candidate_frames_get_an_error_and_the_socket_stays_open(
    session, frame, code
):
    candidate = await connect(cand(session))
    await candidate.send_to(text_data=frame)
    error = (await events_until(candidate, "error"))[-1]
    assert error["code"] == code and error["message"]
    await candidate.send_json_to({"type": "ping"})
    assert (await events_until(candidate, "pong"))[-1]["type"] == "pong"
    await candidate.disconnect()


async def test_answer_too_long_is_refused(session, settings):
    from dataclasses import replace

    settings.RT = replace(settings.RT, answer_max_chars=20)
    candidate = await connect(cand(session))
    await candidate.send_json_to({"type": "answer.text", "text": "x" * 21})
    error = (await events_until(candidate, "error"))[-1]
    assert error["code"] == "bad_field" and "20" in error["message"]
    await candidate.disconnect()


async def test_answer_before_start_is_an_error_not_a_silent_drop(session):
    candidate = await connect(cand(session))
    await candidate.send_json_to({"type": "answer.text", "text": "An early answer"})
    error = (await events_until(candidate, "error"))[-1]
    assert error["code"] == "invalid_transition" and "initialize" in error["message"]
    await candidate.disconnect()


async def test_interview_end_completes_the_session_though_the_page_closes_at_once(session):
    """A candidate who sends interview.end and closes the page before anything
    comes back: the answer, the closing words and the completed session are
    all there afterwards (once each)."""
    candidate = await connect(cand(session))
    await candidate.send_json_to({"type": "interview.start"})
    await events_until(candidate, "ai.message")
    await candidate.send_json_to({"type": "answer.text", "text": "My last words"})
    await candidate.send_json_to({"type": "interview.end"})
    await candidate.disconnect()

    await database_sync_to_async(session.refresh_from_db)()
    assert session.status == "completed"
    rows = await database_sync_to_async(list)(
        Conversation.objects.filter(session=session)
        .order_by("id")
        .values_list("speaker", "message")
    )
    assert rows.count(("student", "My last words")) == 1
    assert rows[-1][0] == "ai" and "Thank you for your time" in rows[-1][1]
    ended = await database_sync_to_async(
        SessionEvent.objects.filter(session=session, type="interview.ended").count
    )()
    assert ended == 1
