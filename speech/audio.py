"""Audio plumbing for the speech path: checks on incoming PCM, a streaming
resampler, decoding uploaded files with ffmpeg, and writing WAV.

All PCM here is mono signed 16-bit little-endian ("s16le"). Checks raise
InvalidInput with a code a WebSocket `error` event can carry as is.
"""

from __future__ import annotations

import io
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
import wave
from pathlib import Path

import numpy as np
import soxr
from django.conf import settings

from interviews.exceptions import InvalidInput, PayloadTooLarge, SpeechUnavailable

from .frames import AudioChunk

MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 48000

# Codes for the contract's `error` event (and REST bodies).
BAD_AUDIO = "bad_audio"
BAD_SAMPLE_RATE = "bad_sample_rate"
FRAME_TOO_LARGE = "frame_too_large"
AUDIO_TOO_LONG = "audio_too_long"


# --- checks -----------------------------------------------------------------


def check_sample_rate(rate: object) -> int:
    """`rate` as an int if it is a whole number of Hz in 8000..48000."""
    if isinstance(rate, float) and rate.is_integer():
        rate = int(rate)
    if isinstance(rate, bool) or not isinstance(rate, int):
        raise InvalidInput(
            f"sample_rate must be an integer number of Hz, got {rate!r}.", code=BAD_SAMPLE_RATE
        )
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise InvalidInput(
            f"sample_rate must be between {MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE} Hz, got {rate}.",
            code=BAD_SAMPLE_RATE,
        )
    return rate


def check_frame(pcm: bytes, *, max_bytes: int | None = None) -> None:
    """One binary frame: bytes of whole 16-bit samples, not over the frame limit."""
    if not isinstance(pcm, bytes | bytearray | memoryview):
        raise InvalidInput("Audio frames must be binary PCM.", code=BAD_AUDIO)
    limit = settings.RT.audio_max_frame_bytes if max_bytes is None else max_bytes
    if len(pcm) > limit:
        raise InvalidInput(
            f"Audio frame of {len(pcm)} bytes is over the {limit}-byte limit; send smaller frames "
            "(100 ms of 16 kHz audio is 3200 bytes).",
            code=FRAME_TOO_LARGE,
        )
    if len(pcm) % 2:
        raise InvalidInput(
            f"Audio frame of {len(pcm)} bytes is not whole 16-bit samples (odd length).",
            code=BAD_AUDIO,
        )


def check_chunk(chunk: AudioChunk) -> None:
    check_sample_rate(chunk.sample_rate)
    check_frame(chunk.pcm)


# --- resampling ---------------------------------------------------------------


class StreamResampler:
    """Resamples a live stream to `out_rate` with soxr (HQ), keeping filter
    state between chunks so chunk boundaries leave no clicks or gaps.

    soxr holds back a few milliseconds (its filter delay) until more audio
    comes; the output stays time-aligned with the input. A change of input
    rate flushes the old filter first, so no audio is lost.
    """

    def __init__(self, out_rate: int) -> None:
        self.out_rate = out_rate
        self._in_rate: int | None = None
        self._soxr: soxr.ResampleStream | None = None

    def process(self, pcm: bytes, in_rate: int) -> bytes:
        tail = b""
        if in_rate != self._in_rate:
            tail = self.flush()
            self._in_rate = in_rate
            self._soxr = (
                None
                if in_rate == self.out_rate
                else soxr.ResampleStream(in_rate, self.out_rate, 1, dtype="int16", quality="HQ")
            )
        if self._soxr is None:
            return tail + bytes(pcm)
        samples = np.frombuffer(pcm, dtype="<i2")
        return tail + self._soxr.resample_chunk(samples).astype("<i2").tobytes()

    def flush(self) -> bytes:
        """The held-back tail; the next `process` starts a fresh filter."""
        if self._soxr is None:
            return b""
        out = self._soxr.resample_chunk(np.zeros(0, dtype="<i2"), last=True)
        self._soxr = None
        self._in_rate = None
        return out.astype("<i2").tobytes()


def resample(pcm: bytes, in_rate: int, out_rate: int) -> bytes:
    """Whole-buffer resampling (same soxr HQ filter as StreamResampler)."""
    if in_rate == out_rate:
        return bytes(pcm)
    samples = np.frombuffer(pcm, dtype="<i2")
    return soxr.resample(samples, in_rate, out_rate, quality="HQ").astype("<i2").tobytes()


# --- WAV ----------------------------------------------------------------------


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    """A mono 16-bit WAV file holding `pcm`."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buffer.getvalue()


# --- decoding uploads ---------------------------------------------------------

# The demuxers ffmpeg may use on an upload: the formats we take, and none that
# reads other files or URLs (playlists, concat lists), whatever the bytes say.
UPLOAD_FORMATS = "wav,w64,mp3,ogg,flac,matroska,webm,mov,mp4,m4a,3gp,3g2,mj2,aac"
SAFE_INPUT = ["-format_whitelist", UPLOAD_FORMATS, "-protocol_whitelist", "file"]
TRUNCATED_AUDIO = "truncated_audio"
# A file that decodes to less than its header states, by more than this share
# of it or these seconds (codec padding), is cut short.
TRUNCATED_SHARE = 0.1
TRUNCATED_SLACK_S = 0.5
STDERR_KEPT = 4096


def ffmpeg_binary(name: str = "ffmpeg") -> str:
    path = shutil.which(name)
    if not path:
        raise SpeechUnavailable(
            f"{name} is not installed on the server, so uploaded audio cannot be decoded "
            "(install ffmpeg, e.g. `apt-get install ffmpeg`)."
        )
    return path


def stated_duration(path: str | Path, *, timeout_s: float) -> float | None:
    """The length the file's header states, read without decoding (ffprobe);
    None when the header states none or ffprobe only estimates it from the
    bitrate. Raises InvalidInput when the file is no audio we take."""
    command = [ffmpeg_binary("ffprobe"), "-hide_banner", "-v", "warning", *SAFE_INPUT]
    command += ["-show_entries", "format=duration:stream=codec_type", "-of", "json", str(path)]
    code, out, errors = run_capped(command, max_bytes=64 * 1024, timeout_s=timeout_s)
    if code != 0:
        raise InvalidInput(
            f"The file is not audio we can decode ({_ffmpeg_reason(errors)}). "
            "Send wav, mp3, ogg/opus, webm, m4a or flac.",
            code=BAD_AUDIO,
        )
    found = json.loads(out or b"{}")
    if not any(s.get("codec_type") == "audio" for s in found.get("streams", [])):
        raise InvalidInput("The file holds no audio track.", code=BAD_AUDIO)
    duration = found.get("format", {}).get("duration")
    if duration in (None, "N/A") or b"Estimating duration" in errors:
        return None
    return float(duration)


def run_capped(command: list[str], *, max_bytes: int, timeout_s: float) -> tuple[int, bytes, bytes]:
    """Run `command`; (exit code, stdout, the tail of stderr). Stops it once
    stdout passes `max_bytes` (then stdout holds max_bytes + 1 bytes) or
    `timeout_s` passes (InvalidInput), so a hostile file costs bounded memory
    and time."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors
        )
        out = bytearray()
        deadline = time.monotonic() + timeout_s
        try:
            while len(out) <= max_bytes:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise InvalidInput(
                        f"Decoding the audio took over {timeout_s:g} s "
                        "(RT_UPLOAD_DECODE_TIMEOUT_S); the file looks broken.",
                        code=BAD_AUDIO,
                    )
                ready, _, _ = select.select([process.stdout], [], [], remaining)
                if ready:
                    chunk = os.read(process.stdout.fileno(), 1 << 16)
                    if not chunk:
                        break
                    out += chunk
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            process.stdout.close()
        errors.seek(max(0, errors.seek(0, os.SEEK_END) - STDERR_KEPT))
        return process.returncode, bytes(out[: max_bytes + 1]), errors.read()


def decode_file(path: str | Path, *, rate: int = 16000, max_seconds: float | None = None) -> bytes:
    """Any audio ffmpeg reads in the formats we take (wav, mp3, ogg/opus,
    webm, m4a, flac) as mono s16le at `rate`.

    With `max_seconds`: a file whose header states a longer length is refused
    before decoding, and decoding stops just past the limit whatever the header
    says, so a small file that expands to hours (a decompression bomb) costs
    at most that much memory and time; either raises PayloadTooLarge (code
    audio_too_long). Undecodable input raises InvalidInput (code bad_audio), a
    file that ends before its header says InvalidInput (code truncated_audio).
    """
    timeout_s = settings.RT.upload_decode_timeout_s
    stated = stated_duration(path, timeout_s=timeout_s)
    if max_seconds is not None and stated is not None and stated > max_seconds:
        raise PayloadTooLarge(
            f"The file says it lasts {stated:.0f} s, over the {max_seconds:g} s limit "
            "(RT_UPLOAD_MAX_SECONDS); split it or send a shorter recording.",
            code=AUDIO_TOO_LONG,
        )
    command = [ffmpeg_binary(), "-nostdin", "-hide_banner", "-loglevel", "error", *SAFE_INPUT]
    command += ["-i", str(path), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(rate)]
    max_bytes = None
    if max_seconds is not None:
        # One second past the limit tells "too long" apart from "just at it".
        command += ["-t", f"{max_seconds + 1:.3f}"]
        max_bytes = int((max_seconds + 1) * rate) * 2
    command += ["-f", "s16le", "-acodec", "pcm_s16le", "pipe:1"]
    code, out, errors = run_capped(command, max_bytes=max_bytes or 2**62, timeout_s=timeout_s)
    if code != 0 and not (max_bytes and len(out) > max_bytes):
        raise InvalidInput(
            f"The file is not audio we can decode ({_ffmpeg_reason(errors)}). "
            "Send wav, mp3, ogg/opus, webm, m4a or flac.",
            code=BAD_AUDIO,
        )
    pcm = out[: len(out) // 2 * 2]
    if not pcm:
        raise InvalidInput("The file holds no audio samples.", code=BAD_AUDIO)
    seconds = len(pcm) / 2 / rate
    if max_seconds is not None and seconds > max_seconds:
        raise PayloadTooLarge(
            f"The audio is longer than the {max_seconds:g} s limit (RT_UPLOAD_MAX_SECONDS); "
            "split it or send a shorter recording.",
            code=AUDIO_TOO_LONG,
        )
    promised = stated if stated is not None else wav_stated_duration(path)
    if promised is not None and promised - seconds > max(
        TRUNCATED_SLACK_S, promised * TRUNCATED_SHARE
    ):
        raise InvalidInput(
            f"The file ends early: it says it lasts {promised:.1f} s but holds {seconds:.1f} s. "
            "Send the whole recording.",
            code=TRUNCATED_AUDIO,
        )
    return pcm


def wav_stated_duration(path: str | Path) -> float | None:
    """A WAV file's length as its `data` chunk states it (ffprobe estimates
    it from the file's size instead); None for another format or a size
    left open, as streaming recorders write it (0 or 0xFFFFFFFF)."""
    with open(path, "rb") as file:
        head = file.read(4096)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    offset, byte_rate = 12, 0
    while offset + 8 <= len(head):
        kind, size = (
            head[offset : offset + 4],
            int.from_bytes(head[offset + 4 : offset + 8], "little"),
        )
        if kind == b"fmt " and offset + 20 <= len(head):
            byte_rate = int.from_bytes(head[offset + 16 : offset + 20], "little")
        if kind == b"data":
            if size in (0, 0xFFFFFFFF) or not byte_rate:
                return None
            return size / byte_rate
        offset += 8 + size + size % 2
    return None


def decode_upload(upload, *, rate: int = 16000, max_seconds: float | None = None) -> bytes:
    """decode_file for a Django UploadedFile (in memory or on disk)."""
    temporary_path = getattr(upload, "temporary_file_path", None)
    if temporary_path is not None:
        return decode_file(temporary_path(), rate=rate, max_seconds=max_seconds)
    # ffmpeg needs a seekable file for some containers (m4a keeps its index at the end).
    suffix = Path(getattr(upload, "name", "") or "").suffix[:10]
    with tempfile.NamedTemporaryFile(prefix="upload-", suffix=suffix) as copy:
        for piece in upload.chunks():
            copy.write(piece)
        copy.flush()
        return decode_file(copy.name, rate=rate, max_seconds=max_seconds)


def _ffmpeg_reason(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return "ffmpeg failed"
    if any("not on whitelist" in line for line in lines):
        return "not one of the formats we take"
    reason = lines[-1]
    # ffmpeg names the temp file it read; the client does not need our paths.
    reason = reason.split(": ", 1)[1] if reason.startswith(("/", "pipe:")) else reason
    return reason[:200]
