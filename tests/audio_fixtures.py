"""Real speech for tests: Korean synthesised by espeak-ng, cached per text.

Every helper returns raw PCM: signed 16-bit little-endian mono.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

CACHE = Path(tempfile.gettempdir()) / "interview-rt-speech-cache"

KOREAN_ANSWER = "저는 소프트웨어 엔지니어입니다 파이썬과 실시간 시스템을 좋아합니다"
KOREAN_SHORT = "안녕하세요 감사합니다"


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


@functools.lru_cache(maxsize=64)
def speak(text: str, rate: int = 16000, voice: str = "ko") -> bytes:
    """`text` spoken by espeak-ng, resampled by sox to `rate` Hz."""
    CACHE.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(f"{voice}|{rate}|{text}".encode()).hexdigest()[:16]
    raw = CACHE / f"{key}.s16"
    if not raw.exists():
        wav = CACHE / f"{key}.wav"
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
                str(raw),
            ],
            check=True,
        )
    return raw.read_bytes()


def silence(seconds: float, rate: int = 16000) -> bytes:
    return b"\x00\x00" * int(seconds * rate)


def white_noise(seconds: float, rate: int = 16000, amplitude: float = 0.1, seed: int = 7) -> bytes:
    rng = np.random.default_rng(seed)
    samples = rng.uniform(-amplitude, amplitude, int(seconds * rate)) * 32767
    return samples.astype("<i2").tobytes()


def frames(pcm: bytes, rate: int = 16000, ms: int = 100) -> list[bytes]:
    """Split PCM into frames of `ms` milliseconds (the browser's frame size)."""
    step = rate * 2 * ms // 1000
    return [pcm[i : i + step] for i in range(0, len(pcm), step)]


def write_wav(path: Path, pcm: bytes, rate: int = 16000) -> Path:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return path
