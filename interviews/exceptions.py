"""Domain errors. Each has a stable `code` (used on the wire and in JSON
bodies) and the HTTP status a REST client should see."""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"
    http_status = 400

    def __init__(
        self, message: str, *, code: str | None = None, details: dict | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        # Extra machine-readable fields for the JSON body (e.g. per-item errors).
        self.details = details or {}
        if code:
            self.code = code


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class InvalidTransition(DomainError):
    code = "invalid_transition"
    http_status = 409


class InUse(DomainError):
    """A delete that other rows still depend on (e.g. an interviewer with sessions)."""

    code = "in_use"
    http_status = 409


class InvalidInput(DomainError):
    code = "invalid_input"
    http_status = 400


class SpeechUnavailable(DomainError):
    code = "speech_unavailable"
    http_status = 503


class ServerBusy(DomainError):
    code = "server_busy"
    http_status = 503


class PayloadTooLarge(DomainError):
    code = "too_large"
    http_status = 413
