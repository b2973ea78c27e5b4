"""The wire registry (interviews/wire.py): the docs say what it says, and the
services route events by it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from interviews import events, services
from interviews.models import SessionEvent
from interviews.wire import (
    CLIENT_MESSAGES,
    SERVER_EVENTS,
    Audience,
    ClientType,
    EventType,
    Sender,
    client_types,
)

PROTOCOL_MD = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
NAME = re.compile(r"`([a-z_]+(?:\.[a-z_]+)?)`")


def table(heading: str) -> list[list[str]]:
    """The rows (cells) of the first table under `heading` in docs/protocol.md."""
    text = PROTOCOL_MD.read_text()
    section = text[text.index(f"\n{heading}\n") + 1 :]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not set(line) <= set("|- "):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows[1:]  # the header row


def names(cell: str) -> list[str]:
    # Nested shapes ([{...}]) and remarks ((...)) are not top-level fields.
    cell = re.sub(r"\[.*?\]|\(.*?\)", "", cell)
    return NAME.findall(cell)


def documented_client_types(heading: str) -> dict[str, list[str]]:
    return {
        kind: [f for f in names(fields) if "." not in f]
        for first, fields, *_ in table(heading)
        for kind in names(first)
    }


def test_docs_list_the_candidate_and_observer_messages_of_the_registry():
    for heading, sender in (
        ("## Candidate → server", Sender.CANDIDATE),
        ("## Observer → server", Sender.OBSERVER),
    ):
        documented = documented_client_types(heading)
        assert set(documented) == set(client_types(sender)), heading
        for kind, fields in documented.items():
            if fields or sender is Sender.CANDIDATE:
                assert set(fields) == set(CLIENT_MESSAGES[ClientType(kind)].fields), kind
    assert "The lobby takes `ping` only." in PROTOCOL_MD.read_text()
    assert client_types(Sender.LOBBY) == {ClientType.PING}


def test_docs_list_every_server_event_with_its_audience_persistence_and_fields():
    rows = {
        names(kind)[0]: (persisted, audience, fields)
        for kind, persisted, audience, fields in table("## Server → clients")
    }
    assert set(rows) == {t.value for t in EventType}
    for kind, (persisted, audience, fields) in rows.items():
        spec = SERVER_EVENTS[EventType(kind)]
        assert persisted == ("yes" if spec.persisted else "no"), kind
        heard_by = {a.strip() for a in audience.split(",")}
        assert heard_by == {spec.audience.value} | ({"lobby"} if spec.lobby else set()), kind
        assert set(names(fields)) == set(spec.fields), kind


@pytest.mark.django_db
def test_a_persisted_event_goes_to_the_audience_its_type_declares(
    session, monkeypatch, django_capture_on_commit_callbacks
):
    sent: list[tuple[str, list[str]]] = []

    def broadcast(message, *, audience):
        groups = events.groups_for(message["session_id"], audience, message["type"])
        sent.append((message["type"], groups))

    monkeypatch.setattr(events, "broadcast", broadcast)
    with django_capture_on_commit_callbacks(execute=True):
        metrics = services.record_event(
            session=session, type_=EventType.METRICS_TURN, payload={"words": 1}
        )
        ended = services.record_event(
            session=session, type_=EventType.INTERVIEW_ENDED, payload={"reason": "test"}
        )
    assert (metrics.audience, ended.audience) == (
        SessionEvent.Audience.OBSERVERS,
        SessionEvent.Audience.ALL,
    )
    sid = session.session_id
    assert sent[-2:] == [
        ("metrics.turn", [events.observers_group(sid)]),
        ("interview.ended", [events.session_group(sid)]),
    ]
    state = events.groups_for(sid, SessionEvent.Audience.ALL, EventType.SESSION_STATE)
    assert state == [events.session_group(sid), events.LOBBY_GROUP]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["ai.delta", "presence", "no.such.event"])
def test_ephemeral_or_unknown_types_are_not_persisted(session, kind):
    with pytest.raises((ValueError, KeyError)):
        services.record_event(session=session, type_=kind, payload={})
    assert not SessionEvent.objects.filter(session=session, type=kind).exists()


def test_observer_events_are_heard_by_observers_only():
    observers_only = {t for t, spec in SERVER_EVENTS.items() if spec.audience is Audience.OBSERVERS}
    assert observers_only == {
        EventType.OBSERVER_NOTE,
        EventType.OBSERVER_SUGGEST,
        EventType.OBSERVER_WARNING,
        EventType.METRICS_TURN,
    }
