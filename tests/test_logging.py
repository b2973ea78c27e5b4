"""Structured logs: per session and turn, and never a token."""

from __future__ import annotations

import json
import logging

import pytest

from interview_rt.logfmt import JsonFormatter, KeyValueFormatter
from tests.consumers.helpers import connect, events_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_formatters_render_extra_fields():
    record = logging.makeLogRecord(
        {
            "msg": "turn committed",
            "levelname": "INFO",
            "name": "x",
            "session": "abc",
            "turn": 2,
            "ended_by": "turn.end",
        }
    )
    line = KeyValueFormatter("%(message)s").format(record)
    assert line == "turn committed session=abc turn=2 ended_by=turn.end"
    data = json.loads(JsonFormatter().format(record))
    assert data["message"] == "turn committed" and data["session"] == "abc" and data["turn"] == 2


async def test_a_typed_turn_logs_session_and_turn_but_no_token(session, staff_token, caplog):
    caplog.set_level(logging.INFO)
    candidate = await connect(f"/ws/interview/{session.session_id}/?token={session.join_token}")
    await candidate.send_json_to({"type": "interview.start"})
    await events_until(candidate, "ai.message")
    await candidate.send_json_to(
        {"type": "answer.text", "text": "A typed answer that is long enough to count."}
    )
    await events_until(candidate, "ai.message")
    await candidate.disconnect()
    turns = [r for r in caplog.records if r.getMessage() == "turn committed"]
    assert len(turns) == 1
    assert turns[0].session == str(session.session_id) and turns[0].turn == 1
    assert turns[0].ended_by == "text" and turns[0].words == 9
    rendered = "\n".join(KeyValueFormatter("%(message)s").format(r) for r in caplog.records)
    assert session.join_token not in rendered and staff_token not in rendered
    assert "socket joined" in rendered
