"""Production: secrets come from the environment, with no default.

Importing this module fails loudly when SECRET_KEY is missing or DEBUG is on,
so a misconfigured deployment never starts.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403

if not os.environ.get("SECRET_KEY"):
    raise ImproperlyConfigured("SECRET_KEY must be set in production.")
SECRET_KEY = os.environ["SECRET_KEY"]
if DEBUG:  # noqa: F405
    raise ImproperlyConfigured("DEBUG must be off in production (set DEBUG=false).")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = os.environ.get("SECURE_COOKIES", "true").lower() == "true"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"


def _flag(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


# HSTS: sent on HTTPS responses only (TLS ends at the proxy, which says so in
# X-Forwarded-Proto). docs/deploy.md, "TLS and HSTS".
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = _flag("SECURE_HSTS_PRELOAD", False)
# HTTP -> HTTPS redirects are the proxy's job (deploy/nginx.conf), so the API
# still answers plain HTTP on a developer's machine. SECURE_SSL_REDIRECT=true
# makes Django redirect too.
SECURE_SSL_REDIRECT = _flag("SECURE_SSL_REDIRECT", False)

# `manage.py check --deploy` warnings silenced on purpose (reasons in
# docs/deploy.md, "check --deploy"): each only while its setting is off.
SILENCED_SYSTEM_CHECKS = [
    *(["security.W008"] if not SECURE_SSL_REDIRECT else []),
    *(["security.W005"] if not SECURE_HSTS_INCLUDE_SUBDOMAINS else []),
    *(["security.W021"] if not SECURE_HSTS_PRELOAD else []),
]
