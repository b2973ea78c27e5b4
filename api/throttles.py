"""Per-client-address throttles for the REST API (interview_rt/ratelimits.py
keeps the counts; interview_rt/logins.py decides the client's address)."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle

from interview_rt import metrics, ratelimits
from interview_rt.logins import client_ip


class UploadRateThrottle(BaseThrottle):
    """RT_UPLOAD_RATE on audio uploads: writes only, since the same views also
    list and read, which cost nothing worth limiting."""

    retry_after: float | None = None

    def get_ident(self, request) -> str:
        # X-Forwarded-For only from RT_TRUSTED_PROXIES, as for logins.
        return client_ip(request)

    def allow_request(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        self.retry_after = ratelimits.hit("upload", self.get_ident(request))
        if self.retry_after is not None:
            metrics.rate_limited("upload")
        return self.retry_after is None

    def wait(self) -> float | None:
        return self.retry_after
