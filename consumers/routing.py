from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator

from .auth import TokenAuthMiddlewareStack

browser_routes = URLRouter([])

asr_routes = URLRouter([])


async def websocket_application(scope, receive, send):
    """/ws/asr/ skips the Origin check (its clients send none); all else passes it."""
    if scope["path"].startswith("/ws/asr/"):
        app = TokenAuthMiddlewareStack(asr_routes)
    else:
        app = AllowedHostsOriginValidator(TokenAuthMiddlewareStack(browser_routes))
    return await app(scope, receive, send)
