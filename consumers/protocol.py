"""The wire format of the WebSocket endpoints (CONTRACT.md section 2).

Client text frames are decoded into a type and its checked fields here, so
consumers only dispatch. Every problem is a ProtocolError with a code that
goes back to the sender as an `error` event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from interviews.events import iso
from interviews.exceptions import DomainError
from interviews.wire import ClientType, EventType

# Close codes (4401/4403/4404 are the contract's; 4409 is ours, see docs/protocol.md).
CLOSE_BAD_TOKEN = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_UNKNOWN_SESSION = 4404
CLOSE_REPLACED = 4409
CLOSE_TRY_AGAIN_LATER = (
    4013  # 1013 by RFC 6455, but daphne (autobahn) may send only 1000 and 3000-4999
)

OBSERVER_TEXT_MAX = 2000
# Integer fields reach database queries: larger ones cannot be bound (a 64-bit column).
INT_FIELD_MAX = 2**63 - 1


class ProtocolError(DomainError):
    code = "bad_message"


@dataclass(frozen=True)
class ClientMessage:
    type: ClientType
    fields: dict[str, Any]


def load_json(text: str | None) -> Any:
    """A text frame's JSON, within the text frame limit.

    Checked here, not by daphne: a frame over daphne's own limit (1 MiB) ends
    the connection (1009); one over ours only gets an `error`. JSON too deep
    for the parser (RecursionError) or with an integer too long to convert
    (ValueError) is bad JSON like any other."""
    limit = settings.RT.text_frame_max_chars
    if text is not None and len(text) > limit:
        raise ProtocolError(
            f"Text frame of {len(text)} characters is over the {limit}-character limit.",
            code="frame_too_large",
        )
    try:
        return json.loads(text or "")
    except (ValueError, TypeError, RecursionError) as exc:
        raise ProtocolError("Text frames must be JSON objects.", code="bad_json") from exc


def decode(text: str | None, allowed: frozenset[ClientType]) -> ClientMessage:
    data = load_json(text)
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError("A message is a JSON object with a string `type`.", code="bad_json")
    kind = data.pop("type")
    if kind not in allowed:
        raise ProtocolError(
            f"Unknown message type {kind[:40]!r}; expected one of "
            f"{', '.join(sorted(t.value for t in allowed))}.",
            code="unknown_type",
        )
    return ClientMessage(ClientType(kind), data)


def int_field(
    msg: ClientMessage,
    name: str,
    *,
    minimum: int,
    maximum: int | None = None,
    default: int | None = None,
) -> int:
    value = msg.fields.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"`{name}` must be an integer.", code="bad_field")
    top = INT_FIELD_MAX if maximum is None else maximum
    if value < minimum or value > top:
        bound = f"{minimum}..{top}"
        raise ProtocolError(f"`{name}` must be {bound}, got {value:.3g}.", code="bad_field")
    return value


def text_field(msg: ClientMessage, name: str, *, max_chars: int) -> str:
    value = msg.fields.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ProtocolError(f"`{name}` must be a non-empty string.", code="bad_field")
    if not is_unicode_text(value):
        # JSON may carry a lone surrogate ("\ud800"); it cannot be stored or sent on.
        raise ProtocolError(f"`{name}` is not valid Unicode text.", code="bad_field")
    if len(value) > max_chars:
        raise ProtocolError(f"`{name}` is longer than {max_chars} characters.", code="bad_field")
    return value.strip()


def is_unicode_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def optional_int(msg: ClientMessage, name: str) -> int | None:
    if msg.fields.get(name) is None:
        return None
    return int_field(msg, name, minimum=0)


def error_event(session_id: str | None, code: str, message: str) -> dict[str, Any]:
    return {
        "type": EventType.ERROR,
        "session_id": session_id,
        "ts": iso(timezone.now()),
        "code": code,
        "message": message,
    }


def encode(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))
