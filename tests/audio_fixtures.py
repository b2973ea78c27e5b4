"""Real speech for tests: Korean synthesised by espeak-ng, cached per text.

Every helper returns raw PCM: signed 16-bit little-endian mono.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

CACHE = Path(tempfile.gettempdir()) / "interview-rt-speech-cache"

KOREAN_ANSWER = "저는 소프트웨어 엔지니어입니다 파이썬과 실시간 시스템을 좋아합니다"
KOREAN_SHORT = "안녕하세요 감사합니다"


_libc = ctypes.CDLL(None)


def same_dither(seed: int = 1) -> None:
    """Reseed the C rand() that Kaldi's feature dithering draws from: two
    decodes of the same audio on new recognisers, each after a reseed and
    with nothing else decoding meanwhile, get the same noise."""
    _libc.srand(seed)


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


@functools.lru_cache(maxsize=64)
def speak(text: str, rate: int = 16000, voice: str = "ko") -> bytes:
    """`text` spoken by espeak-ng, resampled by sox to `rate` Hz."""
    CACHE.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(f"{voice}|{rate}|{text}".encode()).hexdigest()[:16]
    raw = CACHE / f"{key}.s16"
    if not raw.exists():
        # Per-process names, then one atomic rename: parallel test workers may
        # make the same clip at once, and none may read half of it.
        wav = CACHE / f"{key}.{os.getpid()}.wav"
        made = CACHE / f"{key}.{os.getpid()}.s16"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True)
        subprocess.run(
            [
                "sox",
                str(wav),
                "-r",
                str(rate),
                "-c",
                "1",
                "-b",
                "16",
                "-e",
                "signed-integer",
                "-t",
                "raw",
                str(made),
            ],
            check=True,
        )
        os.replace(made, raw)
        wav.unlink(missing_ok=True)
    return raw.read_bytes()


def silence(seconds: float, rate: int = 16000) -> bytes:
    return b"\x00\x00" * int(seconds * rate)


def white_noise(seconds: float, rate: int = 16000, amplitude: float = 0.1, seed: int = 7) -> bytes:
    rng = np.random.default_rng(seed)
    samples = rng.uniform(-amplitude, amplitude, int(seconds * rate)) * 32767
    return samples.astype("<i2").tobytes()


def coloured_noise(
    seconds: float, exponent: float, rate: int = 16000, amplitude: float = 0.1, seed: int = 3
) -> bytes:
    """Noise with power ~ 1/f**exponent (0 white, 1 pink, 2 brown), peak `amplitude`.
    Pink and brown noise are not spectrally flat: speech/vad.py calls them voiced."""
    n = int(seconds * rate)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    freqs[0] = freqs[1]
    shaped = np.fft.irfft(spectrum / freqs ** (exponent / 2), n)
    shaped *= amplitude / np.abs(shaped).max()
    return (shaped * 32767).astype("<i2").tobytes()


def frames(pcm: bytes, rate: int = 16000, ms: int = 100) -> list[bytes]:
    """Split PCM into frames of `ms` milliseconds (the browser's frame size)."""
    step = rate * 2 * ms // 1000
    return [pcm[i : i + step] for i in range(0, len(pcm), step)]


def last_sound_frame(pcm: bytes, rate: int = 16000, ms: int = 100, level: int = 300) -> int:
    """Index (in `frames(pcm, rate, ms)`) of the last frame with sound in it:
    a sample above `level` (espeak-ng's own leading and trailing silence is ~0)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int32)
    return int(np.flatnonzero(np.abs(samples) > level)[-1]) // (rate * ms // 1000)


def write_wav(path: Path, pcm: bytes, rate: int = 16000) -> Path:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return path


# Vosk's decoding of the same audio varies a little from one decode to the next
# within a process (measured with this model: the same 6 s of espeak speech,
# decoded three times in one process, starts "적 요소 들과 여인", "정유사 들과 윤디"
# or "적 요소 들과 윤디"; the sequence repeats exactly in every new process, so it
# is global decoder state, not threads or chunking). Transcripts from two
# decodes are therefore compared word by word with this tolerance.
SAME_DECODE_AGREEMENT = 0.75


def word_agreement(a: str, b: str) -> float:
    """1 - word edit distance / longer length (1.0: the same words)."""
    x, y = a.split(), b.split()
    if not x and not y:
        return 1.0
    row = list(range(len(y) + 1))
    for i, wx in enumerate(x, 1):
        prev, row[0] = row[0], i
        for j, wy in enumerate(y, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (wx != wy))
    return 1 - row[len(y)] / max(len(x), len(y))
