"""Every client message the registry lets a socket send has its handler there."""

from __future__ import annotations

import inspect

import pytest

from consumers.interview import CandidateConsumer
from consumers.observe import LobbyConsumer, ObserverConsumer
from interviews.wire import CLIENT_MESSAGES, Sender, client_types, handler_name

CONSUMERS = {
    Sender.CANDIDATE: CandidateConsumer,
    Sender.OBSERVER: ObserverConsumer,
    Sender.LOBBY: LobbyConsumer,
}


@pytest.mark.parametrize("sender", list(Sender))
def test_each_accepted_client_type_has_a_coroutine_handler(sender):
    consumer = CONSUMERS[sender]
    assert consumer.sender is sender and consumer.accepted_types() == client_types(sender)
    for kind in client_types(sender):
        handler = getattr(consumer, handler_name(kind), None)
        assert handler is not None and inspect.iscoroutinefunction(handler), (sender, kind)


def test_every_client_type_has_a_sender():
    assert all(spec.senders for spec in CLIENT_MESSAGES.values())
    assert set().union(*(client_types(s) for s in Sender)) == set(CLIENT_MESSAGES)
