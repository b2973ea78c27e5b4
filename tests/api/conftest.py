"""Clients for every way in (token and Django session, staff and not) and the
objects the endpoints act on."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from rest_framework.test import APIClient

from interviews import services
from live import ai_turns


@pytest.fixture
def staff_session_client(staff_user):
    client = APIClient()
    client.force_login(staff_user)
    return client


@pytest.fixture
def plain_session_client(plain_user):
    client = APIClient()
    client.force_login(plain_user)
    return client


@pytest.fixture
def live_session(interviewer, student):
    """In progress, the AI has greeted and asked its first question."""
    live = services.create_session(
        interviewer=interviewer, student=student, title="Live interview", duration_minutes=20
    )
    services.create_question(session=live, question_text="Why this role?", order=1)
    services.create_question(session=live, question_text="Your hardest bug?", order=2)
    async_to_sync(ai_turns.initialize)(live.session_id)
    live.refresh_from_db()
    return live
