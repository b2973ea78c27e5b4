"""Audio plumbing for the speech path: checks on incoming PCM, a streaming
resampler, decoding uploaded files with ffmpeg, and writing WAV.

All PCM here is mono signed 16-bit little-endian ("s16le"). Checks raise
InvalidInput with a code a WebSocket `error` event can carry as is.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
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

# Longest an ffmpeg decode of one upload may take before it counts as broken.
DECODE_TIMEOUT_S = 120.0


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


def ffmpeg_binary() -> str:
    path = shutil.which("ffmpeg")
    if not path:
        raise SpeechUnavailable(
            "ffmpeg is not installed on the server, so uploaded audio cannot be decoded "
            "(install it, e.g. `apt-get install ffmpeg`)."
        )
    return path


def decode_file(path: str | Path, *, rate: int = 16000, max_seconds: float | None = None) -> bytes:
    """Any audio ffmpeg reads (wav, mp3, ogg/opus, webm, m4a, flac, ...) as
    mono s16le at `rate`.

    With `max_seconds`, decoding stops just past the limit and a longer file
    raises PayloadTooLarge (code audio_too_long) instead of being decoded in
    full. Undecodable input raises InvalidInput (code bad_audio).
    """
    command = [ffmpeg_binary(), "-nostdin", "-hide_banner", "-loglevel", "error"]
    command += ["-i", str(path), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(rate)]
    if max_seconds is not None:
        # One second past the limit tells "too long" apart from "just at it".
        command += ["-t", f"{max_seconds + 1:.3f}"]
    command += ["-f", "s16le", "-acodec", "pcm_s16le", "pipe:1"]
    try:
        done = subprocess.run(command, capture_output=True, timeout=DECODE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise InvalidInput(
            f"Decoding the audio took over {DECODE_TIMEOUT_S:g} s; the file looks broken.",
            code=BAD_AUDIO,
        ) from exc
    if done.returncode != 0:
        raise InvalidInput(
            f"The file is not audio we can decode ({_ffmpeg_reason(done.stderr)}). "
            "Send wav, mp3, ogg/opus, webm, m4a or flac.",
            code=BAD_AUDIO,
        )
    pcm = done.stdout[: len(done.stdout) // 2 * 2]
    if not pcm:
        raise InvalidInput("The file holds no audio samples.", code=BAD_AUDIO)
    if max_seconds is not None and len(pcm) / 2 / rate > max_seconds:
        raise PayloadTooLarge(
            f"The audio is longer than the {max_seconds:g} s limit (RT_UPLOAD_MAX_SECONDS); "
            "split it or send a shorter recording.",
            code=AUDIO_TOO_LONG,
        )
    return pcm


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
    reason = lines[-1]
    # ffmpeg names the temp file it read; the client does not need our paths.
    reason = reason.split(": ", 1)[1] if reason.startswith(("/", "pipe:")) else reason
    return reason[:200]
