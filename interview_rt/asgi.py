"""ASGI entry point: HTTP through Django, WebSockets through Channels.

Django is set up first so that importing consumers (and their models) is safe.
Browser sockets pass the Origin check (ALLOWED_HOSTS) and the auth stack;
`/ws/asr/` serves vosk-server clients, which send no Origin header, so it is
routed around the origin check and authenticates by token only.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interview_rt.settings.dev")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from consumers.routing import websocket_application  # noqa: E402
from speech.transcribe import preload_default_model  # noqa: E402

preload_default_model()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": websocket_application,
    }
)
