"""WebSocket auth: `?token=` (a staff API token or a candidate's join token)
or the Django session cookie. The join token is checked by the candidate
consumer against its session; here a staff API token becomes scope["user"]."""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token


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
