"""The conversation list and a reply taken back (take-back): left out by
default, listed with `?include_retracted=true`, a bad value is a 400."""

from __future__ import annotations

import pytest

from interviews import services
from interviews.models import Conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def taken_back(live_session):
    """The greeting, an answer, and the reply to it taken back."""
    answer = services.add_conversation(session=live_session, speaker="student", message="I build")
    reply = services.add_conversation(session=live_session, speaker="ai", message="Next?")
    Conversation.objects.filter(pk=reply.pk).update(retracted=True)
    return live_session, answer, reply


def listed(client, session, query: str = "") -> list[tuple[int, bool]]:
    response = client.get(f"/api/conversations/?session_id={session.session_id}{query}")
    assert response.status_code == 200, response.content
    return [(row["id"], row["retracted"]) for row in response.json()["results"]]


def test_the_list_leaves_a_retracted_reply_out_by_default(staff_client, taken_back):
    session, answer, reply = taken_back
    rows = listed(staff_client, session)
    assert (answer.pk, False) in rows and reply.pk not in {pk for pk, _ in rows}
    assert listed(staff_client, session, "&include_retracted=false") == rows


@pytest.mark.parametrize("value", ["true", "1", "True"])
def test_include_retracted_lists_it_marked(staff_client, taken_back, value):
    session, answer, reply = taken_back
    rows = listed(staff_client, session, f"&include_retracted={value}")
    assert rows[-2:] == [(answer.pk, False), (reply.pk, True)]


def test_the_unfiltered_list_leaves_it_out_too(staff_client, taken_back):
    _, _, reply = taken_back
    ids = {row["id"] for row in staff_client.get("/api/conversations/").json()["results"]}
    assert reply.pk not in ids


def test_one_row_by_id_is_shown_whatever_it_is(staff_client, taken_back):
    _, _, reply = taken_back
    response = staff_client.get(f"/api/conversations/{reply.pk}/")
    assert response.status_code == 200 and response.json()["retracted"] is True


def test_a_bad_include_retracted_is_a_400_naming_it(staff_client, taken_back):
    session, _, _ = taken_back
    response = staff_client.get(
        f"/api/conversations/?session_id={session.session_id}&include_retracted=maybe"
    )
    assert response.status_code == 400
    assert "include_retracted must be true or false" in response.json()["detail"]


def test_retracted_is_read_only(staff_client, live_session):
    response = staff_client.post(
        "/api/conversations/",
        {
            "session": str(live_session.session_id),
            "speaker": "ai",
            "message": "x",
            "retracted": True,
        },
        format="json",
    )
    assert response.status_code == 201 and response.json()["retracted"] is False
