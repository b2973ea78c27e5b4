"""Session events: their wire shape, their groups, and broadcasting them.

Persisted events are SessionEvent rows (services.record_event writes them and
broadcasts after the transaction commits); ephemeral ones (partials, AI
deltas, presence) are built with `ephemeral` and sent straight away. The
channel layer carries these small dicts only, never audio.

A broadcast goes first to this process's own sockets, through the local
deliverers registered with `on_local_relay` (consumers.fanout: one fan-out
per process, so the event is encoded once and does not wait for Redis, nor
need it), then to the channel layer for the other processes. Each relay
names its group and its origin (`origin()`), so a process skips its own
relays when the layer brings them back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from .models import SessionEvent
from .wire import SERVER_EVENTS

log = logging.getLogger(__name__)

LOBBY_GROUP = "lobby"
# Consumers implement a handler of this name (dots become underscores).
RELAY_TYPE = "event.relay"
# This process's id on its relays (with its pid: a forked child gets its own).
_BOOT = uuid.uuid4().hex
_local_deliverers: list[Callable[[dict[str, Any]], None]] = []


def origin() -> str:
    return f"{_BOOT}.{os.getpid()}"


def on_local_relay(deliver: Callable[[dict[str, Any]], None]) -> None:
    """Register `deliver(relay)`, called with every relay this process
    broadcasts, before the channel layer sends it (from any thread)."""
    if deliver not in _local_deliverers:
        _local_deliverers.append(deliver)


def session_group(session_uuid: uuid.UUID | str) -> str:
    return f"session.{_hex(session_uuid)}"


def observers_group(session_uuid: uuid.UUID | str) -> str:
    return f"observers.{_hex(session_uuid)}"


def _hex(value: uuid.UUID | str) -> str:
    return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).hex


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def wire(event: SessionEvent, session_uuid: uuid.UUID | str | None = None) -> dict[str, Any]:
    """The JSON object clients receive for a persisted event."""
    sid = session_uuid or event.session.session_id
    return {
        **event.payload,
        "type": event.type,
        "session_id": str(sid),
        "seq": event.seq,
        "ts": iso(event.created_at),
    }


def ephemeral(session_uuid: uuid.UUID | str, type_: str, **fields: Any) -> dict[str, Any]:
    return {**fields, "type": type_, "session_id": str(session_uuid), "ts": iso(timezone.now())}


def groups_for(session_uuid: uuid.UUID | str, audience: str, type_: str) -> list[str]:
    if audience == SessionEvent.Audience.OBSERVERS:
        groups = [observers_group(session_uuid)]
    else:
        groups = [session_group(session_uuid)]
    spec = SERVER_EVENTS.get(type_)
    if spec is not None and spec.lobby:
        groups.append(LOBBY_GROUP)
    return groups


async def abroadcast(message: dict[str, Any], *, audience: str = SessionEvent.Audience.ALL) -> None:
    layer = get_channel_layer()
    for group in groups_for(message["session_id"], audience, message["type"]):
        relay = {"type": RELAY_TYPE, "event": message, "group": group, "origin": origin()}
        for deliver in _local_deliverers:
            deliver(relay)
        if layer is not None:
            await layer.group_send(group, relay)


# Longest a sync caller waits for the server's event loop to take a broadcast.
BROADCAST_TIMEOUT_S = 10.0


def broadcast(message: dict[str, Any], *, audience: str = SessionEvent.Audience.ALL) -> None:
    """Sync entry point (services' on_commit hooks, REST views).

    Called from a sync_to_async thread, the send runs on the server's event
    loop. If that loop has stopped (the server is shutting down), the
    broadcast is skipped instead of waiting for it forever, which would keep
    the process from exiting: the event is already in the log, and clients
    get it on `resume`.
    """
    loop = _caller_loop()
    try:
        if loop is None or loop.is_closed():  # not in sync_to_async, or a finished one
            async_to_sync(abroadcast)(message, audience=audience)
        elif not loop.is_running():
            log.warning("broadcast of %s skipped: the event loop has stopped", message.get("type"))
        else:
            future = asyncio.run_coroutine_threadsafe(abroadcast(message, audience=audience), loop)
            future.result(timeout=BROADCAST_TIMEOUT_S)
    except Exception:  # a broadcast failure must not undo a committed write
        log.exception("broadcast of %s failed", message.get("type"))


def _caller_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop of this thread's sync_to_async caller (found as
    async_to_sync finds it), or None outside sync_to_async."""
    if getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    return getattr(SyncToAsync.threadlocal, "main_event_loop", None)
