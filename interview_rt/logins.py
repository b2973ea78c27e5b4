"""Login throttling with django-axes, for every way in (the dashboard's login
page, the admin's, POST /api/auth/token/): the client's address, the check
itself and the 429 a locked-out client gets. Settings: RT_LOGIN_FAILURE_LIMIT,
RT_LOGIN_COOLOFF_MINUTES, RT_TRUSTED_PROXIES (docs/configuration.md, "Logins").
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render


def trusted_proxies() -> frozenset[str]:
    return frozenset(p.strip() for p in settings.RT.trusted_proxies.split(",") if p.strip())


def client_ip(request) -> str:
    """AXES_CLIENT_IP_CALLABLE. X-Forwarded-For is believed only from a proxy
    named in RT_TRUSTED_PROXIES: anyone can send the header, and a stranger
    trusted with it would choose the address their failures count against."""
    return address_of(
        request.META.get("REMOTE_ADDR", "") or "", request.META.get("HTTP_X_FORWARDED_FOR", "")
    )


def scope_client_ip(scope) -> str:
    """The same rule for an ASGI scope (a WebSocket handshake)."""
    client = scope.get("client") or ("",)
    forwarded = b",".join(v for k, v in scope.get("headers", []) if k == b"x-forwarded-for")
    return address_of(str(client[0] or ""), forwarded.decode("latin-1"))


def address_of(remote: str, forwarded_for: str) -> str:
    """The client's address: `remote`, unless it is a trusted proxy's, then the
    address the proxies' X-Forwarded-For chain vouches for."""
    proxies = trusted_proxies()
    if remote not in proxies:
        return remote
    forwarded = [a.strip() for a in forwarded_for.split(",") if a.strip()]
    # Right to left: each trusted proxy appended the address it heard from; the
    # first address no trusted proxy vouches for is the client's.
    for address in reversed(forwarded):
        if address not in proxies:
            return address
    return forwarded[0] if forwarded else remote


class LoginThrottleBackend(AxesStandaloneBackend):
    """axes' check, skipped for a call with no request: only server-side code
    (management commands, the test client's `login`) authenticates without one,
    and it has no client address to count."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_message(request) -> str:
    cool_off = get_cool_off(request)
    if not cool_off:
        return "Too many failed logins from your address. Ask an administrator to unlock it."
    minutes = max(1, round(cool_off.total_seconds() / 60))
    return f"Too many failed logins from your address. Try again in {minutes} minute(s)."


def locked_out(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the 429 a locked-out client gets, JSON for the
    API (`detail`, as every API error), a readable page for people."""
    message = lockout_message(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "code": "locked_out"}, status=429)
    return render(request, "dashboard/locked_out.html", {"message": message}, status=429)
