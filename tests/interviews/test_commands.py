"""seed_demo and create_api_token, as an operator runs them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from interviews import selectors
from interviews.models import Interviewer, InterviewSession, Question, Student

pytestmark = [pytest.mark.django_db, pytest.mark.db_backend]


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def counts() -> tuple[int, ...]:
    models = (get_user_model(), Token, Interviewer, Student, InterviewSession, Question)
    return tuple(m.objects.count() for m in models)


def test_seed_demo_prints_what_to_use_and_it_works():
    out = run("seed_demo")
    session = InterviewSession.objects.get()
    token = Token.objects.get(user__username="admin").key
    assert token in out
    assert selectors.join_url(session) in out
    assert selectors.dashboard_url() in out and selectors.dashboard_url(session) in out
    assert list(session.questions.values_list("order", flat=True)) == [1, 2, 3]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    r = client.get(f"/api/sessions/{session.session_id}/")
    assert r.status_code == 200 and r.json()["join_url"] == selectors.join_url(session)
    assert client.login(username="admin", password="admin")


def test_seed_demo_twice_does_not_duplicate():
    first = run("seed_demo")
    before = counts()
    second = run("seed_demo")
    assert counts() == before == (1, 1, 1, 1, 1, 3)
    token = Token.objects.get().key
    assert token in first and token in second
    assert "(unchanged)" in second  # the password is not reset


def test_seed_demo_makes_a_fresh_session_once_the_demo_one_has_run():
    run("seed_demo")
    InterviewSession.objects.update(status=InterviewSession.Status.COMPLETED)
    out = run("seed_demo")
    fresh = InterviewSession.objects.get(status=InterviewSession.Status.SCHEDULED)
    assert selectors.join_url(fresh) in out
    assert (Interviewer.objects.count(), Student.objects.count()) == (1, 1)


def test_seed_demo_refuses_an_existing_non_staff_user(plain_user):
    with pytest.raises(CommandError, match="not staff"):
        run("seed_demo", "--username", "plain")
    assert not Token.objects.exists() and not InterviewSession.objects.exists()


def test_create_api_token_prints_a_stable_working_token(staff_user):
    token = run("create_api_token", "staff").strip()
    assert run("create_api_token", "staff").strip() == token
    assert Token.objects.get(user=staff_user).key == token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/sessions/").status_code == 200


@pytest.mark.parametrize(("username", "message"), [("nobody", "No user"), ("plain", "not staff")])
def test_create_api_token_refusals(plain_user, username, message):
    with pytest.raises(CommandError, match=message):
        run("create_api_token", username)
    assert not Token.objects.exists()
