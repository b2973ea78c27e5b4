"""What every session socket does: authorise, join groups, relay events,
answer ping and resume, keep presence. Subclasses add their own messages as
`on_<type with dots as underscores>` handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from interviews import events, selectors, wire
from interviews.exceptions import DomainError, NotFound
from interviews.models import InterviewSession
from live import presence

from . import protocol

log = logging.getLogger(__name__)


@database_sync_to_async
def load_session(raw: str) -> InterviewSession | None:
    try:
        return selectors.session_by_uuid(raw)
    except (NotFound, DomainError):
        return None


class EventSocket(AsyncWebsocketConsumer):
    """Relays `event.relay` group messages; answers ping; decodes JSON."""

    sender: wire.Sender = wire.Sender.LOBBY
    session: InterviewSession | None = None

    @classmethod
    def accepted_types(cls) -> frozenset[wire.ClientType]:
        """The client messages this socket takes: the registry's, for its sender."""
        return wire.client_types(cls.sender)

    async def connect(self) -> None:
        # Accept first: a close before accept is an HTTP 403 and loses the code.
        await self.accept()
        refusal = await self.authorise()
        # The path only: the query string carries the token.
        context = {"path": self.scope["path"], "socket": type(self).__name__}
        if refusal:
            log.info("socket refused", extra={**context, "code": refusal})
            await self.close(code=refusal)
            return
        for group in self.group_names():
            await self.channel_layer.group_add(group, self.channel_name)
        self.joined = True
        log.info("socket joined", extra={**context, "session": self.session_label()})
        await self.on_joined()

    async def dispatch(self, message: dict) -> None:
        # Channels' dispatch first closes stale database connections, a hop to
        # the database thread for every message: every audio frame and every
        # relayed event here. These sockets reach the ORM only through
        # database_sync_to_async, which does the same around each call.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def disconnect(self, code: int) -> None:
        if not getattr(self, "joined", False):
            return
        for group in self.group_names():
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.on_left()

    async def authorise(self) -> int | None:
        """None to admit, else a close code."""
        raise NotImplementedError

    def group_names(self) -> list[str]:
        return []

    async def on_joined(self) -> None:
        pass

    async def on_left(self) -> None:
        pass

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            if bytes_data is not None:
                await self.on_binary(bytes_data)
                return
            message = protocol.decode(text_data, self.accepted_types())
            # Every accepted type has its handler (tests/consumers/test_handlers.py).
            await getattr(self, wire.handler_name(message.type))(message)
        except DomainError as exc:
            await self.send_error(exc.code, exc.message)

    async def on_binary(self, data: bytes) -> None:
        raise protocol.ProtocolError(
            "This socket takes no binary frames.", code="unexpected_binary"
        )

    async def on_ping(self, message: protocol.ClientMessage) -> None:
        await self.send_event(events.ephemeral(self.session_label(), wire.EventType.PONG))

    def session_label(self) -> str | None:
        return str(self.session.session_id) if self.session else None

    async def send_event(self, event: dict) -> None:
        await self.send(text_data=protocol.encode(event))

    async def send_error(self, code: str, message: str) -> None:
        await self.send_event(protocol.error_event(self.session_label(), code, message))

    async def event_relay(self, message: dict) -> None:
        await self.send_event(message["event"])


class SessionSocket(EventSocket):
    """A socket bound to one session: resume, presence, session groups."""

    role: str = ""
    include_observer_events = False

    async def authorise(self) -> int | None:
        self.session = await load_session(self.scope["url_route"]["kwargs"]["session_uuid"])
        return await self.authorise_for(self.session)

    async def authorise_for(self, session: InterviewSession | None) -> int | None:
        raise NotImplementedError

    def group_names(self) -> list[str]:
        return [events.session_group(self.session.session_id)]

    async def on_joined(self) -> None:
        # Seqs this socket has sent: resume and live relays may overlap (an
        # event persisted while the replay reads the log); each goes out once.
        # Consumers dispatch one message at a time, so no lock is needed.
        self.sent_seqs: set[int] = set()
        counts = await database_sync_to_async(presence.join)(
            session=self.session, channel_name=self.channel_name, role=self.role
        )
        await self._announce(counts)
        self.heartbeat = asyncio.create_task(self._heartbeat())

    async def on_left(self) -> None:
        self.heartbeat.cancel()
        counts = await database_sync_to_async(presence.leave)(
            session=self.session, channel_name=self.channel_name
        )
        await self._announce(counts)

    async def _announce(self, counts: dict) -> None:
        await events.abroadcast(
            events.ephemeral(self.session.session_id, wire.EventType.PRESENCE, **counts)
        )

    async def _heartbeat(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                await asyncio.sleep(presence.HEARTBEAT_S)
                await database_sync_to_async(presence.heartbeat)(channel_name=self.channel_name)

    async def on_resume(self, message: protocol.ClientMessage) -> None:
        after = protocol.int_field(message, "after_seq", minimum=0)
        missed = await database_sync_to_async(selectors.events_after)(
            self.session, after_seq=after, include_observer_events=self.include_observer_events
        )
        for event in missed:
            await self.send_event(events.wire(event, self.session.session_id))

    async def send_event(self, event: dict) -> None:
        seq = event.get("seq")
        if seq is not None:
            if seq in self.sent_seqs:
                return
            self.sent_seqs.add(seq)
        await super().send_event(event)
