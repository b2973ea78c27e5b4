"""WebSocket auth: `?token=` (a staff API token or a candidate's join token)
or the Django session cookie. The join token is checked by the candidate
consumer against its session; here a staff API token becomes scope["user"]."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token

from interview_rt import metrics, ratelimits
from interview_rt.logins import scope_client_ip

log = logging.getLogger(__name__)

# Too many new sockets from this client address (RT_SOCKET_RATE): try later.
CLOSE_TOO_MANY = 4429


@database_sync_to_async
def user_for_api_token(key: str):
    try:
        return Token.objects.select_related("user").get(key=key).user
    except Token.DoesNotExist:
        return None


def is_api_token(key: str) -> bool:
    return Token.objects.filter(key=key).exists()


def is_join_token(token: str) -> bool:
    """Some session's join token (the candidate's kind of token)."""
    from interviews.models import InterviewSession

    return InterviewSession.objects.filter(join_token=token).exists()


def query_token(scope) -> str:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [])
    return values[0] if values else ""


class QueryTokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        scope = dict(scope)
        token = query_token(scope)
        scope["token"] = token
        if token:
            user = await user_for_api_token(token)
            if user is not None and user.is_active:
                scope["user"] = user
        scope.setdefault("user", AnonymousUser())
        return await super().__call__(scope, receive, send)


def TokenAuthMiddlewareStack(inner):  # noqa: N802 (named like AuthMiddlewareStack)
    return AuthMiddlewareStack(QueryTokenAuthMiddleware(inner))


class ConnectionRateLimit:
    """RT_SOCKET_RATE: new sockets per client address (X-Forwarded-For only
    from RT_TRUSTED_PROXIES). One over the limit is accepted and closed with
    4429, so that a browser sees the code, before any token is looked up."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        retry_after = await ratelimits.ahit("socket", scope_client_ip(scope))
        if retry_after is None:
            return await self.inner(scope, receive, send)
        metrics.rate_limited("socket")
        # The path only: the query string carries the token.
        log.info("socket refused", extra={"path": scope["path"], "code": CLOSE_TOO_MANY})
        await close_at_handshake(receive, send, CLOSE_TOO_MANY)


async def close_at_handshake(receive, send, code: int) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": code})
