"""WebSocket routes. Browser routes pass the Origin check (ALLOWED_HOSTS);
/ws/asr/ does not, because vosk-server clients send no Origin header."""

from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path, re_path

from .asr import VoskAsrConsumer
from .auth import TokenAuthMiddlewareStack
from .interview import CandidateConsumer
from .observe import LobbyConsumer, ObserverConsumer

browser_app = AllowedHostsOriginValidator(
    TokenAuthMiddlewareStack(
        URLRouter(
            [
                re_path(r"^ws/interview/(?P<session_uuid>[^/]+)/$", CandidateConsumer.as_asgi()),
                re_path(r"^ws/observe/(?P<session_uuid>[^/]+)/$", ObserverConsumer.as_asgi()),
                path("ws/observe/", LobbyConsumer.as_asgi()),
            ]
        )
    )
)
asr_app = TokenAuthMiddlewareStack(URLRouter([path("ws/asr/", VoskAsrConsumer.as_asgi())]))


async def websocket_application(scope, receive, send):
    app = asr_app if scope["path"].startswith("/ws/asr/") else browser_app
    return await app(scope, receive, send)
