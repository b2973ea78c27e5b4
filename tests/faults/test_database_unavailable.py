"""The database goes away while a turn commits (PostgreSQL; a real daphne
process): a connection terminated under the server is reopened and the turn
goes through; a database that stays away longer gets the candidate an `error`
`storage_unavailable`, the answer is kept and committed, once, when the
database is back."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.browser.server import LiveServer
from tests.conftest import require_service
from tests.wsclient import answer, connect, events_until, send

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
QUESTIONS = ["Tell me about yourself", "What are your strengths?", "Why this team?", "Questions?"]


def admin():
    import psycopg

    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)


def sql(statement: str, *params) -> list[tuple]:
    with admin() as db:
        cursor = db.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def terminate(database: str) -> int:
    """Ends every server connection to `database`, as an operator or a failover would."""
    rows = sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        database,
    )
    return len(rows)


@pytest.fixture(scope="module")
def pg_server():
    try:
        admin().close()
        reachable, reason = True, ""
    except Exception as exc:  # psycopg missing or the server down
        reachable, reason = False, f"PostgreSQL at {ADMIN_URL} is unreachable: {exc}"
    require_service(reachable, reason)
    database = f"test_faults_{os.getpid()}"
    sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    sql(f'CREATE DATABASE "{database}"')
    workdir = Path(tempfile.mkdtemp(prefix="interview-rt-faults-"))
    server = LiveServer(workdir, workdir)
    url = urlsplit(ADMIN_URL)
    server.env.update(
        DATABASE_URL=urlunsplit(url._replace(path=f"/{database}")),
        # Connections are kept between calls, so a terminated one is found
        # stale by the next query: the case the retry is for.
        DATABASE_CONN_MAX_AGE="600",
        RT_STT_PRELOAD="false",
        RT_DB_RETRY_ATTEMPTS="3",
        RT_DB_RETRY_DELAY_S="0.2",
        RT_DB_RETRY_MAX_DELAY_S="0.5",
    )
    server.database = database
    try:
        server.prepare()
        server.start()
        yield server
    finally:
        sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        server.stop()
        sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)


def student_answers(server: LiveServer, session_uuid: str) -> list[str]:
    return [r["message"] for r in server.conversation(session_uuid) if r["speaker"] == "student"]


def test_a_turn_committing_on_a_terminated_connection_is_retried(pg_server):
    session = pg_server.create_session("Terminated connection", QUESTIONS)
    first = "I build streaming speech systems and measure their latency every week."
    second = "My strength is keeping changes small and measured, then shipping them."

    async def interview() -> list[dict]:
        async with connect(pg_server, session) as ws:
            await send(ws, "interview.start")
            await events_until(ws, "ai.message")
            await answer(ws, first)
            assert terminate(pg_server.database) >= 1
            return await answer(ws, second)

    events = asyncio.run(interview())
    kinds = [e["type"] for e in events]
    assert "error" not in kinds, events
    assert [e["text"] for e in events if e["type"] == "turn.committed"] == [second]
    assert student_answers(pg_server, session["session_id"]) == [first, second]
    log = pg_server.log_path.read_text()
    assert "database unavailable" in log and "database back" in log


def test_an_answer_sent_while_the_database_is_down_is_kept_and_committed_once(pg_server):
    session = pg_server.create_session("Database down", QUESTIONS)
    sid = session["session_id"]
    kept = "An answer given while the database was down must not be lost."
    database = pg_server.database

    async def interview() -> tuple[list[dict], list[dict], list[dict]]:
        async with connect(pg_server, session) as ws:
            await send(ws, "interview.start")
            await events_until(ws, "ai.message")
            sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
            terminate(database)
            await send(ws, "answer.text", text=kept)
            told = await events_until(ws, "error", wait=15)
            # The socket stays up while the database is away.
            await send(ws, "ping")
            waiting = await events_until(ws, "pong")
            await asyncio.sleep(1.0)  # a few more tries fail meanwhile
            sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
            committed = await events_until(ws, "ai.message", wait=20)
            return told, waiting, committed

    told, waiting, committed = asyncio.run(interview())
    error = told[-1]
    assert error["code"] == "storage_unavailable"
    assert "kept" in error["message"]
    assert "turn.committed" not in [e["type"] for e in told + waiting]
    assert [e["text"] for e in committed if e["type"] == "turn.committed"] == [kept]
    assert [e["type"] for e in committed].count("ai.message") == 1
    assert student_answers(pg_server, sid) == [kept]
    assert [e["type"] for e in committed].count("error") == 0  # told once, not per try
