"""Every WebSocket message type, declared once (CONTRACT.md section 2).

A type's name is written here and nowhere else in the Python code: the
consumers, the live session, the services and the reports use these members
(a ``StrEnum`` member is the string itself on the wire and in the database).
Each declaration says who may send a client message and with which fields, and
who hears a server event, with which fields, and whether it is persisted (a
``SessionEvent`` row with a seq) before anyone hears it. docs/protocol.md
describes the same table; tests/interviews/test_wire.py keeps the two, and the
consumers' handlers, in step. The browser's names are in static/js/wire.js.

It lives in the domain app because the services write persisted events and the
domain imports nothing above it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache


class ClientType(enum.StrEnum):
    """Text frames clients send (the `type` field)."""

    AUDIO_CONFIG = "audio.config"
    TURN_END = "turn.end"
    TURN_HOLD = "turn.hold"
    ANSWER_TEXT = "answer.text"
    INTERVIEW_START = "interview.start"
    INTERVIEW_END = "interview.end"
    OBSERVER_NOTE = "observer.note"
    OBSERVER_SUGGEST = "observer.suggest"
    RESUME = "resume"
    AI_SPOKEN = "ai.spoken"
    PING = "ping"


class EventType(enum.StrEnum):
    """Events the server sends (the `type` field); persisted ones are SessionEvent.type."""

    SESSION_STATE = "session.state"
    TRANSCRIPT_PARTIAL = "transcript.partial"
    TRANSCRIPT_FINAL = "transcript.final"
    TURN_COMMITTED = "turn.committed"
    AI_DELTA = "ai.delta"
    AI_MESSAGE = "ai.message"
    INTERVIEW_ENDED = "interview.ended"
    OBSERVER_NOTE = "observer.note"
    OBSERVER_SUGGEST = "observer.suggest"
    OBSERVER_WARNING = "observer.warning"
    METRICS_TURN = "metrics.turn"
    PRESENCE = "presence"
    TURN_REOPENED = "turn.reopened"
    AI_CANCELLED = "ai.cancelled"
    PONG = "pong"
    ERROR = "error"


class Sender(enum.StrEnum):
    """Who is on the other end of a socket."""

    CANDIDATE = "candidate"
    OBSERVER = "observer"
    LOBBY = "lobby"


class Audience(enum.StrEnum):
    """Who hears an event."""

    SESSION = "session"  # everyone on the session: the candidate and its observers
    OBSERVERS = "observers"  # staff watching the session only
    SENDER = "sender"  # the one socket that caused it


@dataclass(frozen=True)
class ClientSpec:
    fields: tuple[str, ...]
    senders: frozenset[Sender]


@dataclass(frozen=True)
class EventSpec:
    fields: tuple[str, ...]
    audience: Audience
    persisted: bool
    lobby: bool = False  # also sent to the dashboard lobby (/ws/observe/)


_CANDIDATE = frozenset({Sender.CANDIDATE})
_OBSERVER = frozenset({Sender.OBSERVER})
_SESSION_SOCKETS = frozenset({Sender.CANDIDATE, Sender.OBSERVER})

CLIENT_MESSAGES: dict[ClientType, ClientSpec] = {
    ClientType.AUDIO_CONFIG: ClientSpec(("sample_rate",), _CANDIDATE),
    ClientType.TURN_END: ClientSpec((), _CANDIDATE),
    ClientType.TURN_HOLD: ClientSpec((), _CANDIDATE),
    ClientType.ANSWER_TEXT: ClientSpec(("text",), _CANDIDATE),
    ClientType.INTERVIEW_START: ClientSpec((), _CANDIDATE),
    ClientType.INTERVIEW_END: ClientSpec((), _CANDIDATE),
    ClientType.OBSERVER_NOTE: ClientSpec(("text", "ref_seq"), _OBSERVER),
    ClientType.OBSERVER_SUGGEST: ClientSpec(("text",), _OBSERVER),
    ClientType.RESUME: ClientSpec(("after_seq",), _SESSION_SOCKETS),
    ClientType.AI_SPOKEN: ClientSpec(("conversation_id",), _CANDIDATE),
    ClientType.PING: ClientSpec((), frozenset(Sender)),
}

SERVER_EVENTS: dict[EventType, EventSpec] = {
    EventType.SESSION_STATE: EventSpec(
        ("status", "started_at", "ended_at", "title"), Audience.SESSION, True, lobby=True
    ),
    EventType.TRANSCRIPT_PARTIAL: EventSpec(("text", "audio_s"), Audience.SESSION, False),
    EventType.TRANSCRIPT_FINAL: EventSpec(
        ("text", "start_s", "end_s", "words"), Audience.SESSION, True
    ),
    EventType.TURN_COMMITTED: EventSpec(
        ("conversation_id", "speaker", "text", "question_id"), Audience.SESSION, True
    ),
    EventType.AI_DELTA: EventSpec(("text",), Audience.SESSION, False),
    EventType.AI_MESSAGE: EventSpec(
        ("conversation_id", "speaker", "text", "question_id"), Audience.SESSION, True
    ),
    EventType.INTERVIEW_ENDED: EventSpec(("reason",), Audience.SESSION, True),
    EventType.OBSERVER_NOTE: EventSpec(("text", "ref_seq", "author"), Audience.OBSERVERS, True),
    EventType.OBSERVER_SUGGEST: EventSpec(("text", "author"), Audience.OBSERVERS, True),
    EventType.OBSERVER_WARNING: EventSpec(("code", "message"), Audience.OBSERVERS, True),
    EventType.METRICS_TURN: EventSpec(
        ("stt_final_ms", "llm_first_token_ms", "llm_total_ms", "words", "speech_s"),
        Audience.OBSERVERS,
        True,
    ),
    EventType.PRESENCE: EventSpec(("candidate", "observers"), Audience.SESSION, False),
    EventType.TURN_REOPENED: EventSpec(("conversation_id",), Audience.SESSION, True),
    EventType.AI_CANCELLED: EventSpec(("conversation_id",), Audience.SESSION, True),
    EventType.PONG: EventSpec((), Audience.SENDER, False),
    EventType.ERROR: EventSpec(("code", "message"), Audience.SENDER, False),
}


@cache  # the registry never changes; sockets ask on every text frame
def client_types(sender: Sender) -> frozenset[ClientType]:
    """The client messages a socket of `sender` accepts."""
    return frozenset(t for t, spec in CLIENT_MESSAGES.items() if sender in spec.senders)


def handler_name(message_type: ClientType) -> str:
    """The consumer method that handles `message_type` (dots become underscores)."""
    return "on_" + message_type.value.replace(".", "_")
