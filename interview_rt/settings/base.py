"""Settings shared by every environment: embedded defaults for one machine.

``DATABASE_URL`` switches SQLite to PostgreSQL, ``REDIS_URL`` switches the
in-memory channel layer to channels-redis. Everything interview-rt tunes
itself is in ``RT`` (see runtime.py and docs/configuration.md).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from .runtime import RuntimeSettings

BASE_DIR = Path(__file__).resolve().parent.parent.parent

RT = RuntimeSettings.from_env()

# Development-only fallback; production.py refuses to start without SECRET_KEY.
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = os.environ.get("DEBUG", "true").lower() in {"1", "true", "yes", "on"}
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from here, not a CDN
    "axes",  # login throttling
    "interviews",
    "reports",
    "speech",
    "live",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes asks: turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

# Content security policy (django-csp), in every environment so that a page
# that breaks it breaks in development and in the browser tests too: scripts
# only from this server's files (no inline <script>, no inline handlers, no
# eval); data for a page travels in `json_script` blocks, which are not run.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # Swagger UI's and the admin's icons
        "media-src": [SELF, "blob:"],  # recorded answers played on the review page
        "connect-src": [SELF],  # REST and the same host's WebSockets
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "interview_rt.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
ASGI_APPLICATION = "interview_rt.asgi.application"
WSGI_APPLICATION = "interview_rt.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads write (REST, consumers, thread pools): wait for the lock
    # instead of failing with "database is locked". BEGIN IMMEDIATE takes the
    # write lock up front, so two read-then-write transactions cannot deadlock
    # (SQLite fails one of those at once, whatever the timeout).
    # WAL: readers (dashboard, REST) do not wait for a writer, and a commit
    # syncs one file instead of the database and its rollback journal (one
    # commit took 0.6 ms before, 0.18 ms after, here). Every event is persisted
    # before it is broadcast, so that is on each turn's path. synchronous
    # stays FULL: a committed event survives a power cut as before.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20,
        transaction_mode="IMMEDIATE",
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
    )

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels-redis that lives through a Redis outage (interview_rt/channel_layer.py).
            "BACKEND": "interview_rt.channel_layer.ResilientRedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1500, "expiry": 30},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# MEDIA_ROOT holds recorded answers and PDF reports, which are private: no URL
# serves it (not in DEBUG either; whitenoise serves STATIC_ROOT only). Staff get
# the files through the authenticated views in api/files.py. MEDIA_URL stays
# because Django wants one; nothing answers under it.
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "/dashboard/login/"
LOGIN_REDIRECT_URL = "/dashboard/"

# --- login throttling (django-axes; docs/configuration.md, "Logins") ----------
# The throttle backend comes first: it refuses a locked-out client before any
# password is checked. Every login (dashboard, admin, POST /api/auth/token/)
# goes through django.contrib.auth.authenticate, so all three are counted.
AUTHENTICATION_BACKENDS = [
    "interview_rt.logins.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = RT.login_failure_limit
AXES_COOLOFF_TIME = (
    timedelta(minutes=RT.login_cooloff_minutes) if RT.login_cooloff_minutes else None
)
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_CLIENT_IP_CALLABLE = "interview_rt.logins.client_ip"
AXES_LOCKOUT_CALLABLE = "interview_rt.logins.locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Uploads above this go to a temp file instead of memory; voice_to_text reads them from disk.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "interview-rt API",
    "DESCRIPTION": "AI-led voice interviews in real time. See docs/protocol.md for the WebSocket side.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.document_refusals",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "interview_rt.logfmt.KeyValueFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "interview_rt.logfmt.JsonFormatter"},
    },
    # Join links and API tokens travel in query strings and headers: no log
    # line shows one, at any level (interview_rt/redact.py).
    "filters": {"redact_tokens": {"()": "interview_rt.redact.RedactTokens"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if os.environ.get("LOG_FORMAT") == "json" else "plain",
            "filters": ["redact_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # No handler of Django's own (its default prints django.* records a
        # second time, unfiltered, when DEBUG is on): they reach "console".
        "django": {"handlers": [], "propagate": True},
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
        # Its DEBUG lines are every SQL statement with its parameters: tokens,
        # candidates' names and answers. Not logged, even with LOG_LEVEL=DEBUG.
        "django.db.backends": {"level": "INFO"},
    },
}
