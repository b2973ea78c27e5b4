"""Event seqs under concurrency: writers in several threads (each with its own
database connection, as daphne's thread pool and the consumers have) get
distinct seqs that only grow, with no gaps and no lost events."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from interviews import services
from interviews.models import InterviewSession, SessionEvent
from interviews.wire import EventType

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_backend]

THREADS = 6
# Any persisted type will do; this one is observers-only and has free-form fields.
TICK = EventType.OBSERVER_WARNING
EVENTS_PER_THREAD = 15


def run_in_threads(target, count: int) -> list:
    results: list = [None] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def worker(index: int) -> None:
        try:
            start.wait()  # all threads begin writing at the same moment
            results[index] = target(index)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_concurrent_record_event_gets_distinct_growing_seqs(session):
    session.refresh_from_db()
    first_seq = session.last_seq

    def write(index: int) -> list[int]:
        target = InterviewSession.objects.get(pk=session.pk)
        return [
            services.record_event(
                session=target, type_=TICK, payload={"code": f"{index}.{n}", "message": ""}
            ).seq
            for n in range(EVENTS_PER_THREAD)
        ]

    per_thread = run_in_threads(write, THREADS)
    for seqs in per_thread:
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # grows within a writer
    every = sorted(seq for seqs in per_thread for seq in seqs)
    total = THREADS * EVENTS_PER_THREAD
    assert every == list(range(first_seq + 1, first_seq + total + 1))  # distinct, no gaps
    stored = SessionEvent.objects.filter(session=session, type=TICK)
    assert sorted(stored.values_list("seq", flat=True)) == every
    session.refresh_from_db()
    assert session.last_seq == first_seq + total


def test_concurrent_conversation_rows_match_their_events(session):
    """add_conversation from many threads: each row's seq is its own event's."""

    def write(index: int) -> list[int]:
        target = InterviewSession.objects.get(pk=session.pk)
        return [
            services.add_conversation(
                session=target, speaker="student", message=f"thread {index} turn {n}"
            ).pk
            for n in range(5)
        ]

    run_in_threads(write, THREADS)
    rows = list(session.conversations.all())
    assert len(rows) == THREADS * 5
    assert len({row.seq for row in rows}) == len(rows)
    for row in rows:
        event = SessionEvent.objects.get(session=session, seq=row.seq)
        assert event.type == "turn.committed" and event.payload["conversation_id"] == row.pk
        assert event.payload["text"] == row.message


def test_concurrent_start_succeeds_exactly_once(session):
    """Two dashboards press Start together: one wins, the other gets a 409 error."""
    from interviews.exceptions import InvalidTransition

    def start(_index: int) -> str:
        target = InterviewSession.objects.get(pk=session.pk)
        try:
            services.transition_session(session=target, action="start")
        except InvalidTransition:
            return "refused"
        return "started"

    outcomes = run_in_threads(start, 4)
    assert sorted(outcomes) == ["refused", "refused", "refused", "started"]
    states = SessionEvent.objects.filter(session=session, type="session.state")
    assert [e.payload["status"] for e in states] == ["scheduled", "in_progress"]


def test_database_is_the_one_database_url_names():
    import os

    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    assert connection.vendor == expected
