"""Per-address limits on new sockets (4429) and on audio uploads (429), the
address taken from X-Forwarded-For only behind a trusted proxy."""

from __future__ import annotations

from dataclasses import replace

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from interview_rt.asgi import application
from interviews.models import Conversation

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://testserver")
VOICE = "/api/conversations/voice_to_text/"


def not_audio() -> SimpleUploadedFile:
    return SimpleUploadedFile("answer.wav", b"this is not audio at all", "audio/wav")


async def socket_close_code(path: str, *, client: str = "10.0.0.1", headers=()) -> int:
    comm = WebsocketCommunicator(application, path, headers=[ORIGIN, *headers])
    comm.scope["client"] = (client, 50000)
    connected, _ = await comm.connect(timeout=5)
    assert connected
    message = await comm.receive_output(timeout=5)
    await comm.wait()
    assert message["type"] == "websocket.close", message
    return message["code"]


async def test_a_client_over_the_socket_rate_is_closed_with_4429(limits, session):
    limits(socket="2/minute")
    path = f"/ws/interview/{session.session_id}/?token=wrong"
    # Within the limit the token is checked (4401); one more is refused first.
    assert await socket_close_code(path) == 4401
    assert await socket_close_code(path) == 4401
    assert await socket_close_code(path) == 4429
    assert await socket_close_code("/ws/observe/") == 4429, "the limit covers every socket"
    # Another address has its own count.
    assert await socket_close_code(path, client="10.0.0.2") == 4401


async def test_forwarded_for_counts_only_behind_a_trusted_proxy(limits, session):
    limits(socket="1/minute")
    path = f"/ws/interview/{session.session_id}/?token=wrong"

    def forwarded(address: str):
        return [(b"x-forwarded-for", address.encode())]

    # Not a trusted proxy: a made-up X-Forwarded-For does not buy a new count.
    assert await socket_close_code(path, headers=forwarded("1.1.1.1")) == 4401
    assert await socket_close_code(path, headers=forwarded("2.2.2.2")) == 4429
    with override_settings(RT=replace(settings.RT, trusted_proxies="10.9.9.9")):
        proxy = {"client": "10.9.9.9"}
        assert await socket_close_code(path, headers=forwarded("3.3.3.3"), **proxy) == 4401
        assert await socket_close_code(path, headers=forwarded("4.4.4.4"), **proxy) == 4401
        assert await socket_close_code(path, headers=forwarded("3.3.3.3"), **proxy) == 4429


def test_uploads_over_the_rate_get_429_with_retry_after(limits, staff_client, session):
    limits(upload="2/minute")
    for _ in range(2):
        r = staff_client.post(VOICE, {"audio_file": not_audio()}, format="multipart")
        assert r.status_code == 400, r.content  # counted, then refused as not audio
    r = staff_client.post(VOICE, {"audio_file": not_audio()}, format="multipart")
    assert r.status_code == 429
    assert r.json()["code"] == "throttled"
    assert 1 <= int(r["Retry-After"]) <= 60
    # The conversation upload shares the count; reading is not limited.
    r = staff_client.post(
        "/api/conversations/",
        {"session": session.id, "speaker": "student", "message": "typed"},
        format="json",
    )
    assert r.status_code == 429
    assert not Conversation.objects.filter(message="typed").exists()
    assert staff_client.get("/api/conversations/").status_code == 200


def test_upload_limit_is_per_client_address_behind_a_trusted_proxy(limits, staff_client):
    limits(upload="1/minute")
    behind = replace(settings.RT, trusted_proxies="127.0.0.1")
    with override_settings(RT=behind):
        for address in ("5.5.5.5", "6.6.6.6"):
            r = staff_client.post(
                VOICE,
                {"audio_file": not_audio()},
                format="multipart",
                HTTP_X_FORWARDED_FOR=address,
            )
            assert r.status_code == 400, (address, r.status_code)
        r = staff_client.post(
            VOICE, {"audio_file": not_audio()}, format="multipart", HTTP_X_FORWARDED_FOR="5.5.5.5"
        )
        assert r.status_code == 429


def test_an_empty_rate_is_no_limit(limits, staff_client):
    limits(upload="")
    for _ in range(5):
        r = staff_client.post(VOICE, {"audio_file": not_audio()}, format="multipart")
        assert r.status_code == 400
