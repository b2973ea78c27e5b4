"""WebSocket routes. Every socket checks its Origin against ALLOWED_HOSTS:
browser sockets must send an allowed one; /ws/asr/ may send none, because
vosk-server clients send none, but a browser's foreign Origin is refused there
too. Then the per-address connection limit (RT_SOCKET_RATE), then auth."""

from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import path, re_path

from interview_rt import metrics

from .asr import VoskAsrConsumer
from .auth import ConnectionRateLimit, TokenAuthMiddlewareStack
from .interview import CandidateConsumer
from .observe import LobbyConsumer, ObserverConsumer


def allowed_origins() -> list[str]:
    """ALLOWED_HOSTS, as Channels' AllowedHostsOriginValidator reads it."""
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        return ["localhost", "127.0.0.1", "[::1]"]
    return list(settings.ALLOWED_HOSTS)


class NoOrServerOrigin(OriginValidator):
    """An allowed Origin, or none at all (a client that is not a browser)."""

    def valid_origin(self, parsed_origin):
        return parsed_origin is None or super().valid_origin(parsed_origin)


browser_app = OriginValidator(
    ConnectionRateLimit(
        TokenAuthMiddlewareStack(
            URLRouter(
                [
                    re_path(
                        r"^ws/interview/(?P<session_uuid>[^/]+)/$", CandidateConsumer.as_asgi()
                    ),
                    re_path(r"^ws/observe/(?P<session_uuid>[^/]+)/$", ObserverConsumer.as_asgi()),
                    path("ws/observe/", LobbyConsumer.as_asgi()),
                ]
            )
        )
    ),
    allowed_origins(),
)
asr_app = NoOrServerOrigin(
    ConnectionRateLimit(
        TokenAuthMiddlewareStack(URLRouter([path("ws/asr/", VoskAsrConsumer.as_asgi())]))
    ),
    allowed_origins(),
)


async def websocket_application(scope, receive, send):
    app = asr_app if scope["path"].startswith("/ws/asr/") else browser_app
    with metrics.socket_open(scope["path"]):
        return await app(scope, receive, send)
