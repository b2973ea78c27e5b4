"""/ws/interview/<session_uuid>/?token=<join token>: the candidate's socket."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.conf import settings

from interviews import selectors, wire
from interviews.models import InterviewSession
from live import presence
from live.models import LiveConnection
from live.session import LiveSession

from . import protocol
from .auth import is_api_token, is_join_token
from .base import SessionSocket


@database_sync_to_async
def classify_token(session: InterviewSession, token: str) -> int | None:
    """None when `token` admits the candidate, else the close code."""
    if selectors.join_token_valid(session, token):
        return None
    # A real token of the wrong kind (an expired or another session's join
    # link, a staff API token) is refused, not unknown.
    if is_join_token(token) or is_api_token(token):
        return protocol.CLOSE_FORBIDDEN
    return protocol.CLOSE_BAD_TOKEN


joined_after = database_sync_to_async(presence.joined_after)


def candidate_group(session_uuid) -> str:
    return f"candidate.{session_uuid.hex}"


class CandidateConsumer(SessionSocket):
    role = LiveConnection.Role.CANDIDATE
    sender = wire.Sender.CANDIDATE
    live: LiveSession | None = None

    async def authorise_for(self, session):
        token = self.scope.get("token", "")
        if not token:
            return protocol.CLOSE_BAD_TOKEN
        if session is None:
            return protocol.CLOSE_UNKNOWN_SESSION
        return await classify_token(session, token)

    def group_names(self):
        return [*super().group_names(), candidate_group(self.session.session_id)]

    async def on_joined(self):
        # Presence first: its row's id orders candidate connections.
        await super().on_joined()
        self.live = LiveSession(session=self.session, on_error=self.send_error)
        # The newest candidate connection owns the session's loop (one AI reply
        # per turn, across processes): older ones are told to close.
        await self.channel_layer.group_send(
            candidate_group(self.session.session_id),
            {"type": "candidate.replace", "by": self.channel_name},
        )

    async def on_left(self):
        if self.live is not None:
            await self.live.close()
        await super().on_left()

    async def candidate_replace(self, message):
        # Two connections opened at once may each hear the other's notice; the
        # older one's can arrive after the newer joined: only a newer one wins.
        if message["by"] != self.channel_name and await joined_after(
            channel_name=message["by"], other=self.channel_name
        ):
            await self.send_error("replaced", "This interview was opened in another window.")
            await self.close(code=protocol.CLOSE_REPLACED)

    async def on_binary(self, data):
        self.live.push_audio(data)

    async def on_audio_config(self, message):
        self.live.configure_audio(
            protocol.int_field(message, "sample_rate", minimum=8000, maximum=48000, default=16000)
        )

    async def on_turn_end(self, message):
        self.live.end_turn()

    async def on_turn_hold(self, message):
        self.live.hold_turn()

    async def on_answer_text(self, message):
        text = protocol.text_field(message, "text", max_chars=settings.RT.answer_max_chars)
        self.live.answer_text(text)

    async def on_interview_start(self, message):
        self.live.start_interview()

    async def on_interview_end(self, message):
        self.live.end_interview()

    async def on_ai_spoken(self, message):
        # Ordered with the audio: take-back asks whether the reply was spoken
        # before the candidate resumed (live/takeback.py).
        self.live.ai_spoken(protocol.int_field(message, "conversation_id", minimum=1))
