"""What the signals' rule costs a live stream, and which voice check to trust.

Run: .venv/bin/python manage.py ensure_turn_models   (once)
     .venv/bin/python benchmarks/turn_cost.py [--repeat 3]

1. CPU per call, on one thread (time.thread_time), as a live session makes
   them: a 100 ms chunk every 100 ms (the calls here are 20 ms apart, so the
   caches are as cold as between live chunks, not warm as in a tight loop):
   the spectral-flatness check (speech/vad.py) and Silero VAD (one
   SileroVad, state carried) per chunk; Smart Turn once per pause (8 s of
   audio).
2. Voiced seconds each check finds in espeak-ng Korean speech and in 3 s of
   noise of several colours (white, pink, brown), mains hum with harmonics,
   and a steady 440 Hz tone, at two loudnesses. A turn opens on 0.15 s of
   voiced audio, and voiced audio keeps it open.

Figures are indicative: a 2-core machine shared with other work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RATE = 16000
CHUNK = 1600  # 100 ms


def hum(seconds: float, amplitude: float, base: float = 50.0) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    wave = sum(np.sin(2 * np.pi * base * k * t) / k for k in range(1, 8))
    wave *= amplitude / np.abs(wave).max()
    return (wave * 32767).astype("<i2").tobytes()


def tone(seconds: float, amplitude: float, hz: float = 440.0) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2").tobytes()


def chunks(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + CHUNK * 2] for i in range(0, len(pcm), CHUNK * 2)]


def cpu_per_call(call, items, gap_s: float = 0.02) -> list[float]:
    costs = []
    for item in items:
        time.sleep(gap_s)
        started = time.thread_time()
        call(item)
        costs.append(time.thread_time() - started)
    return costs


def summary_ms(costs: list[float]) -> str:
    ordered = sorted(costs)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"{statistics.median(costs) * 1000:.2f} ms median, {p90 * 1000:.2f} ms p90"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="passes over the speech")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interview_rt.settings.test")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()
    from speech import silero, smart_turn, vad
    from tests.audio_fixtures import KOREAN_ANSWER, KOREAN_SHORT, coloured_noise, silence, speak

    session = silero.load_session()
    model = smart_turn.SmartTurn()
    speech = silence(0.3) + speak(KOREAN_ANSWER) + silence(0.5) + speak(KOREAN_SHORT)
    pieces = chunks(speech) * args.repeat

    print(f"CPU per call, one thread ({len(pieces)} chunks of 100 ms, 20 ms apart)\n")
    print("| call | CPU | share of one core per stream |")
    print("|---|---|---|")
    flat = cpu_per_call(lambda c: vad.voiced_seconds(c, RATE), pieces)
    stream_vad = silero.SileroVad(session)
    sil = cpu_per_call(stream_vad.accept, pieces)
    for name, costs in (
        ("spectral flatness, per 100 ms chunk", flat),
        ("Silero VAD, per 100 ms chunk", sil),
    ):
        share = statistics.median(costs) / 0.1 * 100
        print(f"| {name} | {summary_ms(costs)} | {share:.2f}% |")
    windows = [np.frombuffer(speech, dtype="<i2").astype(np.float32) / 32768] * (4 * args.repeat)
    st = cpu_per_call(model.probability, windows, gap_s=0.1)
    print(f"| Smart Turn, per pause (8 s window) | {summary_ms(st)} | once per pause |")

    print("\nVoiced seconds found (a turn opens on 0.15 s)\n")
    print("| audio | length | spectral flatness | Silero VAD |")
    print("|---|---|---|---|")
    cases = [("espeak-ng Korean speech", speech)]
    for amplitude in (0.1, 0.3):
        cases += [
            (f"white noise, peak {amplitude}", coloured_noise(3.0, 0, amplitude=amplitude)),
            (f"pink noise, peak {amplitude}", coloured_noise(3.0, 1, amplitude=amplitude)),
            (f"brown noise, peak {amplitude}", coloured_noise(3.0, 2, amplitude=amplitude)),
            (f"50 Hz hum + harmonics, peak {amplitude}", hum(3.0, amplitude)),
            (f"440 Hz tone, peak {amplitude}", tone(3.0, amplitude)),
        ]
    for name, pcm in cases:
        flat_s = sum(vad.voiced_seconds(c, RATE) for c in chunks(pcm))
        detector = silero.SileroVad(session)
        sil_s = sum(silero.voiced_seconds(detector.accept(c)) for c in chunks(pcm))
        print(f"| {name} | {len(pcm) / 2 / RATE:.1f} s | {flat_s:.2f} s | {sil_s:.2f} s |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
