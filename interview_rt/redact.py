"""No token in any log line: join links and staff API tokens travel in query
strings (`?token=`, browsers cannot set headers on a WebSocket) and in
`Authorization: Token <key>` headers, so every log line is scrubbed of both.

- `RedactTokens`, a logging filter on the console handler (settings' LOGGING):
  every record, whatever its logger and level;
- `redact_daphne_access_log()`, called by asgi.py: daphne's access log
  (`--access-log`, or `-v 1`) writes HTTP request URIs with their query string,
  to a stream, not through logging;
- `filter_every_handler()`, called by asgi.py: the filter on handlers that
  LOGGING did not make (daphne's, set up before the application is loaded).
"""

from __future__ import annotations

import logging
import re

from .logfmt import extras

REDACTED = "[redacted]"
# token=<value> in a query string (also access_token=, join_token=...), and an
# Authorization header's value.
_PATTERNS = (
    re.compile(r"(?i)(token=)[^&\s\"'#]+"),
    re.compile(r"(?i)(\btoken\s+)[0-9a-f]{20,}"),
)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        # Extra fields too: django.request passes the request itself, whose
        # repr is its whole URL.
        for key, value in extras(record).items():
            if isinstance(value, (int, float, bool)) or value is None:
                continue
            text = str(value)
            cleaned = redact(text)
            if cleaned != text:
                setattr(record, key, cleaned)
        return True


def filter_every_handler() -> None:
    """Add the filter to handlers set up outside LOGGING (daphne's own, at
    start-up), so that no handler writes a record unfiltered."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactTokens) for f in handler.filters):
                handler.addFilter(RedactTokens())


def redact_daphne_access_log() -> None:
    """Make daphne's access log write paths without tokens (idempotent)."""
    from daphne.access import AccessLogGenerator

    if getattr(AccessLogGenerator, "redacts_tokens", False):
        return
    original = AccessLogGenerator.__call__

    def call(self, protocol, action, details):
        if isinstance(details, dict) and details.get("path"):
            details = {**details, "path": redact(str(details["path"]))}
        return original(self, protocol, action, details)

    AccessLogGenerator.__call__ = call
    AccessLogGenerator.redacts_tokens = True
