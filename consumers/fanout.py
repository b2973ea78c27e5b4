"""Process-local fan-out of session events to this process's sockets.

One `Hub` per event loop (daphne has one) keeps which of its sockets listen
to which group, and holds ONE channel-layer channel that joins each group
with at least one local socket. An event then costs the channel layer one
message per process, not one per socket; it is encoded to JSON once; and it
is written to every local socket in one pass, with no per-socket task, queue
or Redis wake-up (docs/benchmarks.md, "Observer fan-out", for the figures).

Events broadcast by this process reach the hub directly (interviews.events
calls `deliver_here`), so this process's sockets keep getting their own
sessions' events while Redis is down; the copy the layer brings back is
skipped by its origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict, deque
from typing import Any, Protocol

from channels.layers import get_channel_layer

from interviews import events
from interviews.wire import EventType

from . import protocol

log = logging.getLogger(__name__)


class Listener(Protocol):
    async def relay(self, event: dict[str, Any], text: str) -> None: ...


class Hub:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.layer = get_channel_layer()
        self.members: dict[str, set[Listener]] = defaultdict(set)
        self.inbox: deque[dict[str, Any]] = deque()
        self.arrived = asyncio.Event()
        self.channel = ""
        self.tasks: list[asyncio.Task] = []

    async def join(self, group: str, listener: Listener) -> None:
        if not self.tasks:
            self.tasks.append(self.loop.create_task(self.deliver_forever()))
            if self.layer is not None:
                # The default prefix: channels-redis reads all of a process's channels as one.
                self.channel = await self.layer.new_channel()
                self.tasks.append(self.loop.create_task(self.read_layer()))
        self.members[group].add(listener)
        if self.layer is not None:
            # Every join, not only the first: it refreshes the membership's age.
            await self.layer.group_add(group, self.channel)

    async def leave(self, group: str, listener: Listener) -> None:
        members = self.members.get(group)
        if members is None:
            return
        members.discard(listener)
        if not members:
            del self.members[group]
            if self.layer is not None:
                await self.layer.group_discard(group, self.channel)

    def put(self, relay: dict[str, Any]) -> None:
        """Queue a relay for delivery; called on this hub's loop."""
        if relay.get("group") in self.members:
            self.inbox.append(relay)
            self.arrived.set()

    async def read_layer(self) -> None:
        """Relays from other processes (this one's own came directly)."""
        while True:
            relay = await self.layer.receive(self.channel)
            if relay.get("origin") != events.origin():
                self.put(relay)

    async def deliver_forever(self) -> None:
        while True:
            await self.arrived.wait()
            self.arrived.clear()
            # A backlog is drained without yielding to the loop, so the
            # socket writes of a burst of events go out together.
            while self.inbox:
                await self.deliver(self.next_relay())

    def next_relay(self) -> dict[str, Any]:
        """The oldest relay; AI reply chunks queued behind one another (a
        burst this process has not caught up with) go out as one chunk."""
        relay = self.inbox.popleft()
        if not is_delta(relay):
            return relay
        chunks = [relay["event"]["text"]]
        while self.inbox and is_delta(self.inbox[0]) and self.inbox[0]["group"] == relay["group"]:
            chunks.append(self.inbox.popleft()["event"]["text"])
        if len(chunks) == 1:
            return relay
        return {**relay, "event": {**relay["event"], "text": "".join(chunks)}}

    async def deliver(self, relay: dict[str, Any]) -> None:
        listeners = self.members.get(relay.get("group"))
        if not listeners or "event" not in relay:
            return
        event = relay["event"]
        text = protocol.encode(event)
        for listener in list(listeners):
            try:
                await listener.relay(event, text)
            except Exception as exc:  # one broken socket must not starve the others
                # Typically a socket closing (its disconnect not handled yet).
                log.warning("relay of %s to a socket failed: %r", event.get("type"), exc)

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()


def is_delta(relay: dict[str, Any]) -> bool:
    return relay.get("event", {}).get("type") == EventType.AI_DELTA


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def hub() -> Hub:
    """The hub of the running loop."""
    loop = asyncio.get_running_loop()
    for other in [x for x in _hubs if x.is_closed()]:
        _hubs.pop(other).close()
    if loop not in _hubs:
        _hubs[loop] = Hub(loop)
    return _hubs[loop]


def deliver_here(relay: dict[str, Any]) -> None:
    """This process's own broadcast, to every hub of the process (from any thread)."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    for loop, each in list(_hubs.items()):
        if loop is running:
            each.put(relay)
        elif not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(each.put, relay)


events.on_local_relay(deliver_here)
