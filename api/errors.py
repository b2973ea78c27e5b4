"""JSON errors for every failure: domain errors keep their code and status,
model validation becomes DRF's field errors, nothing bad-input-shaped is a 500."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from interviews.exceptions import DomainError

# Refusals are JSON whatever the client accepts: a browser without a login gets
# neither the browsable API nor the HTML docs page, just the reason.
_ALWAYS_JSON = (
    exceptions.NotAuthenticated,
    exceptions.AuthenticationFailed,
    exceptions.PermissionDenied,
)


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, _ALWAYS_JSON):
        _render_as_json(context.get("request"))
    if isinstance(exc, DomainError):
        body = {**exc.details, "detail": exc.message, "code": exc.code}
        return Response(body, status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        if isinstance(codes, str) and isinstance(response.data, dict):
            response.data.setdefault("code", codes)
    return response


def _render_as_json(request) -> None:
    if request is not None:
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type


@csrf_exempt  # it changes nothing: a POST to an unknown path is a JSON 404, not a CSRF page
def api_not_found(request, unmatched: str = ""):
    """Any /api/ path no route matches: a JSON 404 (Django's would be an HTML page)."""
    detail = f"No API endpoint at {request.path}."
    if not request.path.endswith("/"):
        try:
            resolved = resolve(request.path + "/")
        except Resolver404:
            resolved = None
        if resolved is not None and resolved.func is not api_not_found:
            detail += f" API paths end with a slash: {request.path}/"
    return JsonResponse({"detail": detail, "code": "not_found"}, status=404)
