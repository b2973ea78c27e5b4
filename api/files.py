"""Private files (recorded answers, PDF reports): served only here, to staff.

MEDIA_ROOT has no public URL. A file goes out either streamed by Django, with
HTTP Range support so an <audio> player can seek, or, when
``settings.RT.private_files_accel_prefix`` is set, as an ``X-Accel-Redirect``
to the proxy's internal location, which sends the bytes (and handles Range)
itself (docs/deploy.md).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import Storage
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from interviews import selectors
from interviews.exceptions import NotFound

from .serializers import ErrorSerializer

CHUNK_BYTES = FileResponse.block_size
# One range of bytes; several ranges (multipart/byteranges) are answered with
# the whole file, which RFC 9110 allows.
SINGLE_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class Unsatisfiable(Exception):
    """The Range names no byte of the file: 416."""


class JsonErrorsNegotiation(BaseContentNegotiation):
    """A media player asks for audio/*, a PDF viewer for application/pdf: the
    file answers whatever the Accept header, and a refusal is always JSON
    (never a 406)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return JSONRenderer(), JSONRenderer.media_type


# For a viewset's file action: @action(..., **FILE_VIEW_OPTIONS).
FILE_VIEW_OPTIONS = {
    "renderer_classes": [JSONRenderer],
    "content_negotiation_class": JsonErrorsNegotiation,
}

RANGE_PARAMETER = OpenApiParameter(
    "Range",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="One byte range: `bytes=a-b`, `bytes=a-` or `bytes=-n` (the last n bytes).",
)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte asked for, inclusive; None serves the whole file.
    A Range that is not one well-formed byte range is ignored (RFC 9110 14.2)."""
    match = SINGLE_RANGE.match(header or "")
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # bytes=-n: the last n bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return max(size - suffix, 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise Unsatisfiable
    return start, min(int(last), size - 1) if last else size - 1


def _range_chunks(storage: Storage, name: str, start: int, length: int) -> Iterator[bytes]:
    with storage.open(name, "rb") as handle:
        handle.seek(start)
        while length > 0:
            chunk = handle.read(min(CHUNK_BYTES, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def serve_private_file(
    request: HttpRequest,
    stored: FieldFile,
    *,
    content_type: str | None = None,
    download_name: str = "",
    as_attachment: bool = False,
) -> HttpResponse:
    """The stored file as the answer to GET or HEAD; NotFound (404) when the
    row has none or storage lost it."""
    if not stored or not stored.name or not stored.storage.exists(stored.name):
        raise NotFound("The file is missing from storage.")
    content_type = content_type or mimetypes.guess_type(stored.name)[0]
    accel_prefix = settings.RT.private_files_accel_prefix
    if accel_prefix:
        response = HttpResponse(content_type=content_type or "application/octet-stream")
        response["X-Accel-Redirect"] = f"{accel_prefix.rstrip('/')}/{quote(stored.name)}"
    else:
        response = _from_storage(request, stored, content_type or "application/octet-stream")
    if download_name:
        response["Content-Disposition"] = content_disposition_header(as_attachment, download_name)
    response["X-Content-Type-Options"] = "nosniff"
    # A candidate's data: kept out of shared caches and off disk caches.
    patch_cache_control(response, private=True, no_store=True)
    return response


def _from_storage(request: HttpRequest, stored: FieldFile, content_type: str) -> HttpResponse:
    storage, name = stored.storage, stored.name
    size = storage.size(name)
    try:
        wanted = byte_range(request.headers.get("Range"), size)
    except Unsatisfiable:
        response = HttpResponse(status=416, content_type=content_type)
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response
    first, last = wanted if wanted is not None else (0, size - 1)
    length = max(last - first + 1, 0)
    if request.method == "HEAD":
        response = HttpResponse(content_type=content_type)
    elif wanted is None:
        response = FileResponse(storage.open(name, "rb"), content_type=content_type)
    else:
        response = StreamingHttpResponse(
            _range_chunks(storage, name, first, length), content_type=content_type
        )
    if wanted is not None:
        response.status_code = 206
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    return response


class ConversationAudioView(APIView):
    """A conversation's recorded answer (WAV), for staff; Range makes it seekable."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonErrorsNegotiation

    @extend_schema(
        operation_id="conversations_audio_retrieve",
        parameters=[RANGE_PARAMETER],
        responses={
            (200, "audio/wav"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The whole recording."
            ),
            (206, "audio/wav"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The byte range asked for, with Content-Range.",
            ),
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: OpenApiResponse(
                ErrorSerializer, description="No such conversation, or it has no recording."
            ),
            416: OpenApiResponse(description="The range lies outside the file."),
        },
    )
    def get(self, request, pk: int):
        conversation = selectors.conversation_get(pk)
        name = conversation.audio_file.name if conversation.audio_file else ""
        if not name:
            raise NotFound("This conversation has no recorded audio.")
        return serve_private_file(
            request,
            conversation.audio_file,
            content_type="audio/wav" if name.endswith(".wav") else None,
            download_name=f"answer-{conversation.pk}{PurePosixPath(name).suffix}",
        )
