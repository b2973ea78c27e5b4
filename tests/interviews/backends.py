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
