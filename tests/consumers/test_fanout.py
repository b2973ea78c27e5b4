"""Many observers of one session in one process: each gets every event once,
in seq order, through the process's one fan-out hub (consumers/fanout.py)."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from interviews import events
from interviews.models import SessionEvent

from .helpers import cand, connect, drain, events_until, obs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.channel_layer]

OBSERVERS = 24
ANSWERS = [
    "I build streaming speech systems in Python and I lead a small team.",
    "I listen first, then I write the plan down with the people who disagree.",
]


def seqs(received: list[dict]) -> list[int]:
    return [e["seq"] for e in received if "seq" in e]


def layer_members(group: str) -> set[str]:
    """This process's channels in a channel-layer group (in-memory or Redis)."""
    layer = get_channel_layer()
    if hasattr(layer, "memberships"):  # interview_rt.channel_layer keeps them
        return set(layer.memberships.get(group, ()))
    return set(layer.groups.get(group, {}))


def stored_events(session) -> list[SessionEvent]:
    return list(SessionEvent.objects.filter(session=session).order_by("seq"))


async def test_every_observer_gets_every_event_once_in_order(session, staff_token):
    before = len(await database_sync_to_async(stored_events)(session))
    observers = [await connect(obs(session, staff_token)) for _ in range(OBSERVERS)]
    candidate = await connect(cand(session))
    await candidate.send_json_to({"type": "interview.start"})
    await events_until(candidate, "ai.message")
    for answer in ANSWERS:
        await candidate.send_json_to({"type": "answer.text", "text": answer})
        await events_until(candidate, "ai.message")

    stored = (await database_sync_to_async(stored_events)(session))[before:]
    expected = [e.seq for e in stored]
    assert len(expected) >= 8  # state, 3 AI messages, 2 answers, their metrics
    assert {e.type for e in stored} >= {"ai.message", "turn.committed", "metrics.turn"}
    received = await asyncio.gather(*(drain(o, within=0.5) for o in observers))
    for got in received:
        assert seqs(got) == expected  # all of them, once each, in order
        deltas = [e for e in got if e["type"] == "ai.delta"]
        assert len(deltas) >= 3  # ephemeral events reach them too (three replies)

    # One channel of this process is in the session's group, however many listen.
    group = events.session_group(session.session_id)
    assert len(layer_members(group)) == 1
    for comm in [candidate, *observers]:
        await comm.disconnect()
    assert not layer_members(group)
