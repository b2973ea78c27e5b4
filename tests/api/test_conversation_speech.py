"""Spoken turns keep their speech facts, readable over REST."""

from __future__ import annotations

import pytest

from interviews import services

pytestmark = pytest.mark.django_db


def test_conversation_rows_show_speech_facts(staff_client, session):
    speech = {
        "start_s": 0.5,
        "end_s": 2.0,
        "words": [{"word": "네", "start": 0.5, "end": 0.8, "conf": 0.9}],
        "ended_by": "silence",
    }
    services.add_conversation(session=session, speaker="student", message="네", speech=speech)
    services.add_conversation(session=session, speaker="ai", message="Thank you.")
    rows = staff_client.get(f"/api/conversations/?session_id={session.session_id}").json()[
        "results"
    ]
    assert [r["speech"] for r in rows] == [speech, {}]


def test_speech_cannot_be_written_by_clients(staff_client, session):
    r = staff_client.post(
        "/api/conversations/",
        {
            "session": session.pk,
            "speaker": "student",
            "message": "typed",
            "speech": {"ended_by": "forged"},
        },
        format="json",
    )
    assert r.status_code == 201 and r.json()["speech"] == {}
