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

from . import fanout, protocol

log = logging.getLogger(__name__)


@database_sync_to_async
def load_session(raw: str) -> InterviewSession | None:
    try:
        return selectors.session_by_uuid(raw)
    except (NotFound, DomainError):
        return None


class EventSocket(AsyncWebsocketConsumer):
    """Relays session events (through this process's fan-out hub, see
    consumers/fanout.py); answers ping; decodes JSON."""

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
        for group in self.relay_groups():
            await fanout.hub().join(group, self)
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
        for group in self.relay_groups():
            await fanout.hub().leave(group, self)
        for group in self.group_names():
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.on_left()

    async def authorise(self) -> int | None:
        """None to admit, else a close code."""
        raise NotImplementedError

    def relay_groups(self) -> list[str]:
        """Groups whose events this socket relays (joined through the hub)."""
        return []

    def group_names(self) -> list[str]:
        """Channel-layer groups of this socket's own channel (its other messages)."""
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

    async def relay(self, event: dict, text: str) -> None:
        """An event from the hub, already encoded."""
        await self.send(text_data=text)

    async def event_relay(self, message: dict) -> None:
        # A relay sent to this socket's own channel (the hub gets the groups').
        await self.send_event(message["event"])


class SessionSocket(EventSocket):
    """A socket bound to one session: resume, presence, session groups."""

    role: str = ""
    include_observer_events = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Seqs this socket has sent: resume and live relays may overlap (an
        # event persisted while the replay reads the log); each goes out once.
        self.sent_seqs: set[int] = set()
        # Live events held back while a resume replays the log, so the client
        # gets seqs in order; None when no replay runs.
        self.held: list[tuple[dict, str]] | None = None

    async def authorise(self) -> int | None:
        self.session = await load_session(self.scope["url_route"]["kwargs"]["session_uuid"])
        return await self.authorise_for(self.session)

    async def authorise_for(self, session: InterviewSession | None) -> int | None:
        raise NotImplementedError

    def relay_groups(self) -> list[str]:
        return [events.session_group(self.session.session_id)]

    async def on_joined(self) -> None:
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
        self.held = self.held if self.held is not None else []
        try:
            missed = await database_sync_to_async(selectors.events_after)(
                self.session, after_seq=after, include_observer_events=self.include_observer_events
            )
            for event in missed:
                await self.send_event(events.wire(event, self.session.session_id))
        finally:
            held, self.held = self.held, None
            for event, text in held:
                await self.relay(event, text)

    def first_time(self, event: dict) -> bool:
        """True once per seq (and for every event without one). No lock: there
        is no await between the check and the add."""
        seq = event.get("seq")
        if seq is None:
            return True
        if seq in self.sent_seqs:
            return False
        self.sent_seqs.add(seq)
        return True

    async def send_event(self, event: dict) -> None:
        if self.first_time(event):
            await super().send_event(event)

    async def relay(self, event: dict, text: str) -> None:
        if self.held is not None:
            self.held.append((event, text))
        elif self.first_time(event):
            await super().relay(event, text)
