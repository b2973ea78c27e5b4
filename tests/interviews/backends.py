"""The database the suite runs on, and the guard that skips (or, in CI,
fails) the database tests when the PostgreSQL that DATABASE_URL names is down.

The same tests run on SQLite by default and on PostgreSQL with
``DATABASE_URL=postgres://postgres@127.0.0.1:5432/test``; tests marked
``db_backend`` are the ones bin/test repeats on PostgreSQL.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.conftest import require_service

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


def register_markers(config) -> None:
    config.addinivalue_line(
        "markers", "db_backend: a database test bin/test repeats on PostgreSQL (DATABASE_URL)"
    )


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
