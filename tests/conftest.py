"""Shared fixtures: users, API clients, a ready session."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from interviews import services

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(reachable: bool, reason: str) -> None:
    """Skip with a reason outside CI; in CI a missing service is a failure."""
    if reachable:
        return
    if IN_CI:
        pytest.fail(f"required service unavailable in CI: {reason}")
    pytest.skip(reason)


# --- the database the suite runs on (DATABASE_URL) -------------------------------

POSTGRES_ENGINES = {"django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2"}


def postgres_unreachable_reason() -> str | None:
    """None when the default database is not PostgreSQL or answers; else why not."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] not in POSTGRES_ENGINES:
        return None
    import psycopg

    where = f"{db.get('USER') or '(default user)'}@{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}/{db['NAME']}"
    try:
        psycopg.connect(
            dbname=db["NAME"],
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            connect_timeout=3,
        ).close()
    except psycopg.Error as exc:
        return f"DATABASE_URL names PostgreSQL {where}, which is unreachable: {exc}".strip()
    return None


@pytest.fixture(scope="session", autouse=True)
def database_reachable():
    reason = postgres_unreachable_reason()
    require_service(reason is None, reason or "")


@pytest.fixture(scope="session", autouse=True)
def channel_layer_reachable():
    """With REDIS_URL set the suite runs on channels-redis: Redis must answer."""
    layer = settings.CHANNEL_LAYERS["default"]
    if "redis" not in layer["BACKEND"]:
        return
    import redis

    host = layer["CONFIG"]["hosts"][0]
    try:
        redis.Redis.from_url(host, socket_connect_timeout=3).ping()
        reachable, reason = True, ""
    except redis.RedisError as exc:
        reachable, reason = False, f"REDIS_URL names {host}, which is unreachable: {exc}"
    require_service(reachable, reason)


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each test gets its own channel layer instance. Every async test runs on
    its own event loop, and channels-redis keeps its receive state (a count, a
    lock bound to the loop that last waited on it) per instance, not per loop:
    a consumer task a finished loop left behind can, when it is collected,
    release or hold that state under the next test's consumers ("Lock ... is
    bound to a different event loop"). A server has one loop per process."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def fresh_decoder_load():
    """Admission goes by the decoders' measured load (speech/load.py): each
    test starts with none measured, so an earlier test's decoding does not
    decide whether this one's streams are admitted."""
    from speech.load import meter

    meter.clear()
    yield
    meter.clear()


@pytest.fixture(autouse=True)
def keep_test_transaction_open(request, monkeypatch):
    """channels' database_sync_to_async closes "old" connections around each
    call; inside a test's wrapping transaction that closes the test's own
    connection (on SQLite in memory it is a no-op, so only a file or PostgreSQL
    shows it). Django's test client disconnects the same clean-up for the same
    reason; transactional tests keep the real behaviour."""
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in request.fixturenames or (
        marker is not None and marker.kwargs.get("transaction")
    ):
        return
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_user("staff", password="pw-staff-123", is_staff=True)


@pytest.fixture
def plain_user(db):
    return get_user_model().objects.create_user("plain", password="pw-plain-123")


@pytest.fixture
def staff_token(staff_user):
    return Token.objects.create(user=staff_user).key


@pytest.fixture
def plain_token(plain_user):
    return Token.objects.create(user=plain_user).key


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def staff_client(staff_token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {staff_token}")
    return client


@pytest.fixture
def plain_client(plain_token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plain_token}")
    return client


@pytest.fixture
def interviewer(db):
    return services.create_interviewer(name="John Doe", email="john@example.com")


@pytest.fixture
def student(db):
    return services.create_student(name="Jane Smith", email="jane@example.com")


@pytest.fixture
def session(interviewer, student):
    session = services.create_session(
        interviewer=interviewer,
        student=student,
        title="Software Engineer Interview",
        duration_minutes=30,
    )
    services.bulk_create_questions(
        items=[
            {
                "session": session,
                "question_text": "Tell me about yourself",
                "category": "Introduction",
                "difficulty": "easy",
                "order": 1,
            },
            {
                "session": session,
                "question_text": "What are your strengths?",
                "category": "Behavioral",
                "difficulty": "medium",
                "order": 2,
                "expected_answer": "Concrete strengths backed by examples",
            },
        ]
    )
    return session
