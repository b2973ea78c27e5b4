"""Recordings and reports are private: served only to staff, through the file
views, under names no one can guess; nothing answers under /media/."""

from __future__ import annotations

import importlib
import io
import re
import wave
from dataclasses import replace
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import clear_url_caches
from pypdf import PdfReader

from interviews import selectors, services
from interviews.models import Conversation
from reports import services as report_services
from tests.audio_fixtures import KOREAN_ANSWER, silence, speak

pytestmark = pytest.mark.django_db

AUDIO_NAME = re.compile(r"^audio/\d{4}/\d{2}/([A-Za-z0-9_-]{24})\.wav$")
REPORT_NAME = re.compile(r"^reports/\d{4}/\d{2}/([A-Za-z0-9_-]{24})\.pdf$")


def wav_bytes(seconds: float = 0.5) -> bytes:
    """A real WAV whose every byte differs from its neighbours (a ramp), so a
    range that is off by one shows."""
    frames = int(16000 * seconds)
    pcm = b"".join(((i * 7) % 65536).to_bytes(2, "little") for i in range(frames))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm)
    return out.getvalue()


WAV = wav_bytes()


@pytest.fixture
def recorded(session) -> Conversation:
    """A student's spoken turn with its WAV stored, named as the live path names it."""
    return services.add_conversation(
        session=session,
        speaker="student",
        message="I build real-time systems.",
        audio_file=ContentFile(WAV, name="turn-jane-smith-2026-12-02.wav"),
    )


@pytest.fixture
def report(session):
    services.transition_session(session=session, action="start")
    return report_services.generate_report(session=session)


def audio_url(conversation: Conversation) -> str:
    return f"/api/conversations/{conversation.pk}/audio/"


def download_url(report) -> str:
    return f"/api/reports/{report.pk}/download/"


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- who gets the files ------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "head"])
def test_anonymous_gets_a_401_json_for_audio_and_report(anon_client, recorded, report, method):
    for url in (audio_url(recorded), download_url(report)):
        r = getattr(anon_client, method)(url)
        assert r.status_code == 401, url
        assert r["Content-Type"] == "application/json"
        if method == "get":
            assert r.json()["code"] == "not_authenticated"
            assert WAV[:100] not in r.content


def test_a_non_staff_user_gets_a_403(plain_client, recorded, report):
    for url in (audio_url(recorded), download_url(report)):
        r = plain_client.get(url)
        assert r.status_code == 403 and r.json()["code"] == "permission_denied"


def test_the_candidates_join_token_opens_neither_recording_nor_report(
    anon_client, session, recorded, report, interviewer
):
    """Their own session's token, and another candidate's: as a token header
    and as the ?token= the candidate's page carries."""
    other_student = services.create_student(name="Other Candidate", email="o@example.com")
    other = services.create_session(interviewer=interviewer, student=other_student, title="B")
    for token in (session.join_token, other.join_token):
        for url in (audio_url(recorded), download_url(report)):
            header = anon_client.get(url, HTTP_AUTHORIZATION=f"Token {token}")
            assert header.status_code == 401, url
            query = anon_client.get(f"{url}?token={token}")
            assert query.status_code == 401, url
            assert query["Content-Type"] == "application/json"


def test_a_candidates_media_accept_header_still_gets_json_refusals(anon_client, recorded):
    """An <audio> element asks for audio/*: the refusal is JSON, not a 406."""
    r = anon_client.get(audio_url(recorded), HTTP_ACCEPT="audio/wav")
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"


# --- what staff get --------------------------------------------------------------


def test_staff_get_the_whole_recording(staff_client, staff_session_client, recorded):
    for client in (staff_client, staff_session_client):
        r = client.get(audio_url(recorded), HTTP_ACCEPT="audio/wav,audio/*;q=0.9")
        assert r.status_code == 200
        assert body(r) == WAV
        assert r["Content-Type"] == "audio/wav"
        assert r["Accept-Ranges"] == "bytes"
        assert r["Content-Length"] == str(len(WAV))
        assert "private" in r["Cache-Control"] and "no-store" in r["Cache-Control"]
        assert r["Content-Disposition"] == f'inline; filename="answer-{recorded.pk}.wav"'


SIZE = len(WAV)


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=10-19", 10, 19),
        ("bytes=100-", 100, SIZE - 1),
        ("bytes=-50", SIZE - 50, SIZE - 1),
        ("bytes=-999999", 0, SIZE - 1),  # more than the file: all of it
        ("bytes=5000-999999", 5000, SIZE - 1),  # the end is clamped
        (f"bytes={SIZE - 1}-", SIZE - 1, SIZE - 1),
    ],
)
def test_a_range_gets_206_with_exactly_those_bytes(staff_client, recorded, header, first, last):
    r = staff_client.get(audio_url(recorded), HTTP_RANGE=header)
    assert r.status_code == 206
    assert body(r) == WAV[first : last + 1]
    assert r["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert r["Content-Length"] == str(last - first + 1)
    assert r["Accept-Ranges"] == "bytes"
    assert r["Content-Type"] == "audio/wav"


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"])
def test_a_range_outside_the_file_is_416(staff_client, recorded, header):
    r = staff_client.get(audio_url(recorded), HTTP_RANGE=header)
    assert r.status_code == 416
    assert r["Content-Range"] == f"bytes */{SIZE}"
    assert WAV[:10] not in r.content


@pytest.mark.parametrize("header", ["bytes=20-10", "items=0-10", "bytes=abc", "bytes=0-1,5-6"])
def test_a_range_that_is_not_one_plain_byte_range_gets_the_whole_file(
    staff_client, recorded, header
):
    r = staff_client.get(audio_url(recorded), HTTP_RANGE=header)
    assert r.status_code == 200 and body(r) == WAV


def test_head_gives_the_headers_and_no_body(staff_client, recorded):
    r = staff_client.head(audio_url(recorded))
    assert r.status_code == 200
    assert r["Content-Length"] == str(SIZE) and r["Accept-Ranges"] == "bytes"
    assert r["Content-Type"] == "audio/wav"
    assert body(r) == b""
    ranged = staff_client.head(audio_url(recorded), HTTP_RANGE="bytes=10-19")
    assert ranged.status_code == 206 and ranged["Content-Range"] == f"bytes 10-19/{SIZE}"
    assert ranged["Content-Length"] == "10" and body(ranged) == b""


def test_no_recording_or_a_lost_file_is_a_404_json(staff_client, session, recorded):
    typed = services.add_conversation(session=session, speaker="student", message="Typed.")
    r = staff_client.get(audio_url(typed))
    assert r.status_code == 404 and "no recorded audio" in r.json()["detail"]

    recorded.audio_file.storage.delete(recorded.audio_file.name)
    r = staff_client.get(audio_url(recorded))
    assert r.status_code == 404 and r.json()["code"] == "not_found"

    r = staff_client.get("/api/conversations/999999/audio/")
    assert r.status_code == 404 and r["Content-Type"] == "application/json"


def test_the_report_download_still_names_the_candidate_and_serves_ranges(staff_client, report):
    r = staff_client.get(download_url(report))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert 'attachment; filename="interview-jane-smith-' in r["Content-Disposition"]
    pdf = body(r)
    assert "Jane Smith" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    ranged = staff_client.get(download_url(report), HTTP_RANGE="bytes=0-4")
    assert ranged.status_code == 206 and body(ranged) == pdf[:5] == b"%PDF-"


# --- names ------------------------------------------------------------------------


def test_stored_names_are_random_and_say_nothing_of_the_candidate(interviewer, recorded):
    lee = services.create_student(name="Lee Candidate", email="lee@example.com")
    session = services.create_session(interviewer=interviewer, student=lee, title="Lee")
    stored = report_services.generate_report(session=session).pdf_file.name
    match = REPORT_NAME.match(stored)
    assert match, stored
    assert "lee" not in stored.lower() and "candidate" not in stored.lower()
    audio = AUDIO_NAME.match(recorded.audio_file.name)
    assert audio, recorded.audio_file.name
    assert "jane" not in recorded.audio_file.name.lower()
    # 24 URL-safe characters carry 24 * 6 = 144 bits: at least 128.
    assert len(audio.group(1)) * 6 >= 128 and len(match.group(1)) * 6 >= 128
    # The same upload name twice gives two unrelated names.
    again = services.add_conversation(
        session=recorded.session,
        speaker="student",
        message="Again.",
        audio_file=ContentFile(WAV, name="turn-jane-smith-2026-12-02.wav"),
    )
    assert AUDIO_NAME.match(again.audio_file.name)
    assert again.audio_file.name != recorded.audio_file.name
    assert len(set(again.audio_file.name) & set(recorded.audio_file.name)) < 40


def test_regenerating_a_report_replaces_its_file_under_a_new_random_name(
    staff_client, report, django_capture_on_commit_callbacks
):
    old = report.pdf_file.name
    with django_capture_on_commit_callbacks(execute=True):
        new = report_services.generate_report(session=report.session).pdf_file.name
    assert REPORT_NAME.match(new) and new != old
    assert not report.pdf_file.storage.exists(old)
    assert staff_client.get(download_url(report)).status_code == 200


# --- no public URL ------------------------------------------------------------------


@pytest.fixture
def debug_urls():
    """The project's URLconf as it is built with DEBUG on (it is built once, at import)."""
    import interview_rt.urls

    with override_settings(DEBUG=True):
        importlib.reload(interview_rt.urls)
        clear_url_caches()
        yield
    importlib.reload(interview_rt.urls)
    clear_url_caches()


def test_nothing_answers_under_media_even_in_debug(
    debug_urls, anon_client, staff_session_client, recorded, report
):
    assert settings.DEBUG
    stored = [recorded.audio_file.name, report.pdf_file.name]
    old_style = "reports/2026/12/interview-lee-candidate-2026-12-02.pdf"
    (Path(settings.MEDIA_ROOT) / old_style).parent.mkdir(parents=True, exist_ok=True)
    (Path(settings.MEDIA_ROOT) / old_style).write_bytes(b"%PDF-1.4 old report")
    for name in [*stored, old_style]:
        for client in (anon_client, staff_session_client):
            r = client.get(f"/media/{name}")
            assert r.status_code == 404, name
            assert b"%PDF" not in body(r) and WAV[:100] not in body(r)
            # Nor through the static files (whitenoise or the finders).
            assert client.get(f"/static/{name}").status_code == 404


def test_media_root_is_no_static_folder():
    media = Path(settings.MEDIA_ROOT).resolve()
    served = [Path(settings.STATIC_ROOT), *map(Path, settings.STATICFILES_DIRS)]
    if getattr(settings, "WHITENOISE_ROOT", None):
        served.append(Path(settings.WHITENOISE_ROOT))
    for folder in served:
        folder = folder.resolve()
        assert not media.is_relative_to(folder) and not folder.is_relative_to(media), folder


# --- behind nginx --------------------------------------------------------------------


@pytest.fixture
def accel():
    with override_settings(RT=replace(settings.RT, private_files_accel_prefix="/private-files/")):
        yield


def test_with_an_accel_prefix_nginx_is_told_where_the_file_is(
    accel, staff_client, anon_client, recorded, report
):
    r = staff_client.get(audio_url(recorded), HTTP_RANGE="bytes=0-9")
    assert r.status_code == 200  # nginx answers the range itself
    assert r["X-Accel-Redirect"] == f"/private-files/{recorded.audio_file.name}"
    assert r["Content-Type"] == "audio/wav"
    assert body(r) == b""
    r = staff_client.get(download_url(report))
    assert r["X-Accel-Redirect"] == f"/private-files/{report.pdf_file.name}"
    assert r["Content-Type"] == "application/pdf" and body(r) == b""
    assert 'attachment; filename="interview-jane-smith-' in r["Content-Disposition"]
    refused = anon_client.get(audio_url(recorded))
    assert refused.status_code == 401 and not refused.has_header("X-Accel-Redirect")


# --- the API's fields ------------------------------------------------------------------


def test_api_fields_are_the_views_urls_and_they_work(staff_client, session, recorded, report):
    typed = services.add_conversation(session=session, speaker="ai", message="Next question.")
    rows = staff_client.get(f"/api/conversations/?session_id={session.session_id}").json()
    by_id = {row["id"]: row["audio_file"] for row in rows["results"]}
    assert by_id[recorded.pk] == f"http://testserver/api/conversations/{recorded.pk}/audio/"
    assert by_id[typed.pk] is None
    one = staff_client.get(f"/api/conversations/{recorded.pk}/").json()
    assert one["audio_file"] == by_id[recorded.pk]
    assert body(staff_client.get(one["audio_file"])) == WAV

    listed = staff_client.get(f"/api/reports/{report.pk}/").json()
    assert listed["pdf_file"] == listed["download_url"]
    assert listed["pdf_file"] == f"http://testserver/api/reports/{report.pk}/download/"
    assert body(staff_client.get(listed["pdf_file"])).startswith(b"%PDF-")


def test_an_uploaded_recording_is_served_back_through_its_url(staff_client, session):
    r = staff_client.post(
        "/api/conversations/",
        {
            "session": str(session.session_id),
            "speaker": "student",
            "message": "Uploaded answer",
            "audio_file": SimpleUploadedFile("my answer (Jane).wav", WAV, "audio/wav"),
        },
        format="multipart",
    )
    assert r.status_code == 201, r.content
    url = r.json()["audio_file"]
    assert url.endswith(f"/api/conversations/{r.json()['id']}/audio/")
    stored = Conversation.objects.get(pk=r.json()["id"]).audio_file.name
    assert AUDIO_NAME.match(stored) and "jane" not in stored.lower()
    assert body(staff_client.get(url)) == WAV


def test_the_review_page_helper_gives_the_views_path(recorded, session, report):
    assert selectors.conversation_audio_path(recorded) == audio_url(recorded)
    typed = services.add_conversation(session=session, speaker="ai", message="Hello.")
    assert selectors.conversation_audio_path(typed) is None
    assert selectors.report_download_path(report) == download_url(report)


def test_the_admin_links_to_the_views_not_to_media(client, session, recorded, report):
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-1")
    client.force_login(root)
    page = client.get(f"/admin/interviews/interviewsession/{session.pk}/change/").content.decode()
    assert f'href="{audio_url(recorded)}"' in page and "/media/" not in page
    page = client.get(f"/admin/interviews/conversation/{recorded.pk}/change/").content.decode()
    assert f'href="{audio_url(recorded)}"' in page and "/media/" not in page
    page = client.get("/admin/interviews/interviewreport/").content.decode()
    assert f'href="{download_url(report)}"' in page and "/media/" not in page


@pytest.mark.speech
def test_voice_to_text_with_a_session_keeps_a_recording_staff_can_play(
    staff_client, anon_client, session, tmp_path
):
    pcm = silence(0.3) + speak(KOREAN_ANSWER) + silence(0.3)
    upload = io.BytesIO()
    with wave.open(upload, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm)
    r = staff_client.post(
        "/api/conversations/voice_to_text/",
        {
            "audio_file": SimpleUploadedFile("answer.wav", upload.getvalue()),
            "session_id": str(session.session_id),
        },
        format="multipart",
    )
    assert r.status_code == 200, r.content
    conversation_id = r.json()["conversation_id"]
    row = staff_client.get(f"/api/conversations/{conversation_id}/").json()
    assert row["audio_file"].endswith(f"/api/conversations/{conversation_id}/audio/")
    served = staff_client.get(row["audio_file"])
    assert served.status_code == 200 and served["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(body(served))) as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (1, 16000)
        assert wav.getnframes() == len(pcm) // 2
    assert anon_client.get(row["audio_file"]).status_code == 401


@pytest.mark.e2e
def test_over_a_real_daphne_in_debug(tmp_path):
    """The same promises over HTTP, from a real server started with DEBUG on:
    Range and HEAD through ASGI, and no /media/ route."""
    import sqlite3

    import httpx

    from tests.browser.server import LiveServer

    server = LiveServer(tmp_path, tmp_path)
    server.prepare()
    server.start()
    try:
        session = server.create_session("Private files", ["Why this role?"])
        r = server.api(
            "POST",
            "/api/conversations/",
            data={"session": session["session_id"], "speaker": "student", "message": "Hi"},
            files={"audio_file": ("turn-lee-candidate.wav", WAV, "audio/wav")},
        )
        assert r.status_code == 201, r.text
        url = r.json()["audio_file"]
        assert url == f"{server.base}/api/conversations/{r.json()['id']}/audio/"
        assert server.api("POST", f"/api/sessions/{session['id']}/start/").status_code == 200
        report = server.api(
            "POST", "/api/reports/generate/", json={"session_id": session["session_id"]}
        )
        assert report.status_code == 201, report.text

        assert httpx.get(url).status_code == 401
        assert httpx.get(report.json()["pdf_file"]).status_code == 401
        staff = {"Authorization": f"Token {server.login_token()}"}
        whole = httpx.get(url, headers=staff)
        assert whole.status_code == 200 and whole.content == WAV
        ranged = httpx.get(url, headers={**staff, "Range": "bytes=10-19"})
        assert ranged.status_code == 206 and ranged.content == WAV[10:20]
        assert ranged.headers["content-range"] == f"bytes 10-19/{SIZE}"
        head = httpx.head(url, headers=staff)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(SIZE)

        with sqlite3.connect(tmp_path / "db.sqlite3") as db:  # the server's own names
            stored = [
                name
                for (name,) in db.execute(
                    "SELECT audio_file FROM interviews_conversation WHERE audio_file != '' "
                    "UNION ALL SELECT pdf_file FROM interviews_interviewreport"
                )
            ]
        assert len(stored) == 2 and all("lee" not in name.lower() for name in stored)
        for name in [*stored, "reports/2026/12/interview-lee-candidate-2026-12-02.pdf"]:
            for headers in ({}, staff):
                r = httpx.get(f"{server.base}/media/{name}", headers=headers)
                assert r.status_code == 404 and b"%PDF" not in r.content, name
    finally:
        server.stop()
