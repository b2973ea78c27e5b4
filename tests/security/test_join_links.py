"""Join links: unguessable, one session's, compared in constant time, refused
once the session has ended (after RT_JOIN_GRACE_MINUTES), revocable."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from interviews import selectors, services
from interviews.models import InterviewSession
from tests.consumers.helpers import close_code

pytestmark = [pytest.mark.django_db(transaction=True)]


def join_page(session, token: str) -> int:
    return Client().get(f"/join/{session.session_id}/", {"token": token}).status_code


def end(session, *, minutes_ago: float) -> InterviewSession:
    InterviewSession.objects.filter(pk=session.pk).update(
        status=InterviewSession.Status.COMPLETED,
        ended_at=timezone.now() - timedelta(minutes=minutes_ago),
    )
    return InterviewSession.objects.get(pk=session.pk)


def test_tokens_are_long_random_and_unique(interviewer, student):
    tokens = {
        services.create_session(interviewer=interviewer, student=student, title=f"T{n}").join_token
        for n in range(20)
    }
    assert len(tokens) == 20
    assert all(len(t) >= 32 for t in tokens)  # 24 random bytes, URL-safe


def test_a_token_that_is_not_ascii_is_refused_not_an_error(session):
    # compare_digest raises on non-ASCII str: the comparison is on bytes.
    assert not selectors.join_token_valid(session, "ключ-" + session.join_token[5:])
    assert join_page(session, "ключ") == 403


def test_an_ended_session_refuses_its_link_at_once_by_default(session):
    assert join_page(session, session.join_token) == 200
    end(session, minutes_ago=0)
    assert join_page(session, session.join_token) == 403


def test_the_grace_period_keeps_the_link_for_that_long_after_the_end(session):
    with override_settings(RT=replace(settings.RT, join_grace_minutes=10)):
        recent = end(session, minutes_ago=5)
        assert selectors.join_token_valid(recent, recent.join_token)
        assert join_page(recent, recent.join_token) == 200
        assert not selectors.join_token_valid(recent, "a" * len(recent.join_token))
        late = end(session, minutes_ago=11)
        assert not selectors.join_token_valid(late, late.join_token)
        assert join_page(late, late.join_token) == 403


async def test_the_socket_refuses_an_ended_session_and_a_rotated_token(session):
    from asgiref.sync import sync_to_async

    old = session.join_token
    rotated = await sync_to_async(services.rotate_join_token)(session=session)
    assert await close_code(f"/ws/interview/{session.session_id}/?token={old}") == 4401
    ended = await sync_to_async(end)(rotated, minutes_ago=0)
    assert await close_code(f"/ws/interview/{ended.session_id}/?token={ended.join_token}") == 4403
