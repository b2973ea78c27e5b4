"""ASGI entry point: HTTP through Django, WebSockets through Channels.

Django is set up first so that importing consumers (and their models) is safe.
Every socket passes the Origin check (ALLOWED_HOSTS; `/ws/asr/` may send no
Origin, as vosk-server clients do), the per-address connection limit and the
auth stack (consumers/routing.py).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interview_rt.settings.dev")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from consumers.routing import websocket_application  # noqa: E402
from interview_rt.redact import filter_every_handler, redact_daphne_access_log  # noqa: E402
from speech.transcribe import preload_default_model  # noqa: E402

preload_default_model()
# daphne's access log writes request URIs whole; join links carry their token.
redact_daphne_access_log()
filter_every_handler()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": websocket_application,
    }
)
