"""Hostile uploads to POST /api/conversations/voice_to_text/: not audio, cut
short, too large, hours long, and decompression bombs whose header lies. Each
gets a 4xx with a reason, in bounded time and memory; a good file still
transcribes."""

from __future__ import annotations

import struct
import subprocess
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from interviews.models import Conversation
from speech.model_registry import registry
from tests.audio_fixtures import KOREAN_ANSWER, silence, speak, write_wav

pytestmark = pytest.mark.speech

URL = "/api/conversations/voice_to_text/"
BYTES_PER_SECOND = 16000 * 2  # what uploads decode to: 16 kHz mono s16le


@pytest.fixture(scope="module", autouse=True)
def korean_model():
    return registry.model_for("ko")


def post(client, path: Path, name: str | None = None, **fields):
    upload = SimpleUploadedFile(name or path.name, path.read_bytes())
    return client.post(URL, {"audio_file": upload, **fields}, format="multipart")


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def flac_of_silence(path: Path, seconds: int) -> Path:
    ffmpeg(
        "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", str(seconds),
        "-c:a", "flac", "-frame_size", "65535", str(path),
    )  # fmt: skip
    return path


def set_flac_total_samples(source: Path, target: Path, total: int, keep_bytes: int = 0) -> Path:
    """A copy whose STREAMINFO states `total` samples (0: unknown), cut to
    `keep_bytes` if given."""
    data = bytearray(source.read_bytes())
    info = 8  # "fLaC" and the metadata block header
    data[info + 13] = (data[info + 13] & 0xF0) | ((total >> 32) & 0x0F)
    data[info + 14 : info + 18] = (total & 0xFFFFFFFF).to_bytes(4, "big")
    target.write_bytes(data[:keep_bytes] if keep_bytes else data)
    return target


def set_wav_data_size(source: Path, target: Path, size: int, keep_seconds: float) -> Path:
    data = bytearray(source.read_bytes())
    at = data.index(b"data")
    data[at + 4 : at + 8] = struct.pack("<I", size)
    target.write_bytes(data[: at + 8 + int(keep_seconds * BYTES_PER_SECOND)])
    return target


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile-uploads")
    answer = write_wav(folder / "answer.wav", silence(0.3) + speak(KOREAN_ANSWER) + silence(0.3))
    # A tone, not silence: silence compresses to almost nothing, so a cut FLAC would keep it all.
    ten = folder / "ten.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=f=440:r=16000", "-t", "10", "-c:a", "pcm_s16le", str(ten))
    ffmpeg("-i", str(ten), "-c:a", "flac", str(folder / "ten.flac"))
    two_hours = flac_of_silence(folder / "two-hours.flac", 7200)
    return {
        "answer": answer,
        "two_hours": two_hours,
        # The same two hours with the length left out of the header.
        "bomb": set_flac_total_samples(two_hours, folder / "bomb.flac", 0),
        # One second of audio whose header claims ten hours.
        "liar_flac": set_flac_total_samples(
            folder / "ten.flac", folder / "liar.flac", 16000 * 36000, keep_bytes=40_000
        ),
        "liar_wav": set_wav_data_size(ten, folder / "liar.wav", 0x7FFFFFF0, keep_seconds=1.0),
        "cut_wav": set_wav_data_size(ten, folder / "cut.wav", 10 * BYTES_PER_SECOND, 4.0),
        "cut_flac": cut(folder / "ten.flac", folder / "cut.flac", keep_bytes=20_000),
        # Streaming recorders leave the sizes open (0xFFFFFFFF): not an error.
        "open_wav": set_wav_data_size(ten, folder / "open.wav", 0xFFFFFFFF, keep_seconds=3.0),
    }


def cut(source: Path, target: Path, *, keep_bytes: int) -> Path:
    target.write_bytes(source.read_bytes()[:keep_bytes])
    return target


def timed(call):
    """(result, seconds, peak bytes Python allocated meanwhile)."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = call()
        return result, time.monotonic() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def assert_refused(response, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    for word in words:
        assert word in body["detail"], body


# --- not audio ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("answer.wav", b"RIFF\x00\x00\x00\x00WAVEjunk" * 100),
        ("answer.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20),
        ("answer.mp3", bytes(4096)),
    ],
)
def test_what_is_not_audio_is_400_with_a_reason(staff_client, tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    assert_refused(post(staff_client, path), 400, "bad_audio", "not audio we can decode")


def test_a_playlist_naming_a_file_on_the_server_is_not_followed(staff_client, files, tmp_path):
    """ffmpeg would open what an HLS playlist names; uploads may only be audio."""
    playlist = tmp_path / "answer.m3u8"
    playlist.write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://{files['answer']}\n#EXT-X-ENDLIST\n"
    )
    assert_refused(post(staff_client, playlist, name="answer.wav"), 400, "bad_audio", "formats")


# --- cut short ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["cut_wav", "cut_flac"])
def test_a_file_cut_short_is_400_naming_both_lengths(staff_client, files, session, kind):
    response = post(staff_client, files[kind], session_id=str(session.session_id))
    assert_refused(response, 400, "truncated_audio", "ends early", "10.0 s")
    assert not Conversation.objects.filter(session=session).exists()


def test_a_wav_whose_sizes_are_left_open_is_accepted(staff_client, files):
    response = post(staff_client, files["open_wav"])
    assert response.status_code == 200, response.json()
    assert response.json()["duration_s"] == pytest.approx(3.0, abs=0.01)


# --- too large ------------------------------------------------------------------


def test_a_body_over_the_size_limit_is_refused_from_its_declared_length(staff_client, files):
    assert files["answer"].stat().st_size > 1024 + 64 * 1024  # over, with the framing allowance
    with override_settings(RT=replace(settings.RT, upload_max_bytes=1024)):
        response = post(staff_client, files["answer"])
    assert_refused(response, 413, "too_large", "The request is", "RT_UPLOAD_MAX_BYTES")


# --- hours long and bombs -------------------------------------------------------


def test_hours_of_audio_in_a_tiny_file_are_refused_before_decoding(staff_client, files):
    assert files["two_hours"].stat().st_size < 100_000  # two hours in a few kilobytes
    response, seconds, peak = timed(lambda: post(staff_client, files["two_hours"]))
    assert_refused(response, 413, "audio_too_long", "says it lasts 7200 s", "600 s limit")
    assert seconds < 5
    assert peak < 5 * 1024 * 1024  # nothing decoded


def test_a_bomb_whose_header_hides_its_length_stops_decoding_at_the_limit(staff_client, files):
    """Two hours of PCM (230 MB) in 20 kB, length unstated: decoding stops
    just past the limit, so memory follows the limit, not the file."""
    limit = 30.0
    expanded = 7200 * BYTES_PER_SECOND
    with override_settings(RT=replace(settings.RT, upload_max_seconds=limit)):
        response, seconds, peak = timed(lambda: post(staff_client, files["bomb"]))
    assert_refused(response, 413, "audio_too_long", "longer than the 30 s limit")
    assert seconds < 10
    assert peak < 4 * (limit + 1) * BYTES_PER_SECOND < expanded / 50


@pytest.mark.parametrize(
    ("kind", "status", "code", "says"),
    [
        ("liar_flac", 413, "audio_too_long", "says it lasts 36000 s"),
        ("liar_wav", 400, "truncated_audio", "ends early"),
    ],
)
def test_a_header_lying_about_its_length_is_refused(staff_client, files, kind, status, code, says):
    response, seconds, _ = timed(lambda: post(staff_client, files[kind]))
    assert_refused(response, status, code, says)
    assert seconds < 5


def test_a_decode_that_takes_too_long_is_stopped(staff_client, files):
    with override_settings(RT=replace(settings.RT, upload_decode_timeout_s=0.001)):
        response, seconds, _ = timed(lambda: post(staff_client, files["answer"]))
    assert_refused(response, 400, "bad_audio", "RT_UPLOAD_DECODE_TIMEOUT_S")
    assert seconds < 5


# --- and a good file still works ------------------------------------------------


def test_a_good_recording_is_still_transcribed(staff_client, files):
    response = post(staff_client, files["answer"])
    assert response.status_code == 200, response.json()
    assert response.json()["text"]
