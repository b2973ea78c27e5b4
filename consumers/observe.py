"""/ws/observe/<session_uuid>/ (one session, staff) and /ws/observe/ (the lobby)."""

from __future__ import annotations

from channels.db import database_sync_to_async

from interviews import events, services, wire
from live import ai_turns
from live.models import LiveConnection

from . import protocol
from .auth import is_join_token
from .base import EventSocket, SessionSocket


def staff_refusal(user) -> int | None:
    if user is None or not user.is_authenticated:
        return protocol.CLOSE_BAD_TOKEN
    return None if user.is_staff else protocol.CLOSE_FORBIDDEN


class ObserverConsumer(SessionSocket):
    role = LiveConnection.Role.OBSERVER
    sender = wire.Sender.OBSERVER
    include_observer_events = True

    async def authorise_for(self, session):
        refusal = staff_refusal(self.scope.get("user"))
        token = self.scope.get("token")
        # A candidate's join token is a valid token of the wrong kind.
        if (
            refusal == protocol.CLOSE_BAD_TOKEN
            and token
            and await database_sync_to_async(is_join_token)(token)
        ):
            return protocol.CLOSE_FORBIDDEN
        if refusal:
            return refusal
        return protocol.CLOSE_UNKNOWN_SESSION if session is None else None

    def relay_groups(self):
        return [*super().relay_groups(), events.observers_group(self.session.session_id)]

    def author(self) -> str:
        return self.scope["user"].get_username()

    async def on_observer_note(self, message):
        text = protocol.text_field(message, "text", max_chars=protocol.OBSERVER_TEXT_MAX)
        ref_seq = protocol.optional_int(message, "ref_seq")
        await database_sync_to_async(services.add_observer_event)(
            session=self.session,
            type_=wire.EventType.OBSERVER_NOTE,
            text=text,
            author=self.author(),
            ref_seq=ref_seq,
            actor=self.scope["user"],
        )

    async def on_observer_suggest(self, message):
        text = protocol.text_field(message, "text", max_chars=protocol.OBSERVER_TEXT_MAX)
        await ai_turns.add_suggestion(
            self.session.session_id, text, self.author(), actor=self.scope["user"]
        )


class LobbyConsumer(EventSocket):
    """Receives `session.state` of every session; sends nothing but ping."""

    async def authorise(self):
        return staff_refusal(self.scope.get("user"))

    def relay_groups(self):
        return [events.LOBBY_GROUP]
