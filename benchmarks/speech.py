"""Speech recognition figures on this machine, in process (no server).

    .venv/bin/python benchmarks/speech.py [--language ko] [--passes 3]

Prints, for the model the registry picks for the language:

- model load time and the RSS it adds;
- RSS per recogniser: fresh, and after it has decoded speech (Vosk expands
  its decoding graph lazily and keeps the expanded part);
- real-time factor (wall decode seconds / audio seconds; CPU seconds shown
  beside it, steadier on a busy machine) of one SpeechStream
  fed 100 ms frames, pass after pass on the same warm stream, and of
  transcribe_pcm (a fresh recogniser each time);
- reproducibility: whether two decodes of the same audio agree, with and
  without reseeding Kaldi's dither (the C rand()), and across chunk sizes.

The machine's load average is printed too: figures from a shared machine are
upper bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interview_rt.settings.test")

import django  # noqa: E402

django.setup()

from speech.frames import AudioChunk  # noqa: E402
from speech.model_registry import registry  # noqa: E402
from speech.stream import SpeechStream  # noqa: E402
from speech.transcribe import transcribe_pcm  # noqa: E402
from speech.vosk_engine import new_recognizer  # noqa: E402
from tests.audio_fixtures import frames, silence, speak  # noqa: E402

ANSWERS = [
    "저는 소프트웨어 엔지니어입니다 파이썬과 실시간 시스템을 좋아합니다",
    "지난 프로젝트에서 음성 인식 서버를 만들었습니다",
    "팀과 함께 문제를 해결하는 것을 좋아합니다",
]
_libc = ctypes.CDLL(None)


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def decode_texts(model, pcm: bytes, chunk_bytes: int) -> list[str]:
    recognizer = new_recognizer(model, 16000)
    texts = []
    for offset in range(0, len(pcm), chunk_bytes):
        if recognizer.AcceptWaveform(pcm[offset : offset + chunk_bytes]):
            texts.append(json.loads(recognizer.Result())["text"])
    texts.append(json.loads(recognizer.FinalResult())["text"])
    return texts


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", default="ko")
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()

    pcm = b"".join(silence(0.5) + speak(text) for text in ANSWERS) + silence(0.5)
    audio_s = len(pcm) / 2 / 16000
    print(f"load average at start: {load()}  (cores: {os.cpu_count()})")
    print(f"model: {registry.locate(args.language)}")

    before = rss_mb()
    started = time.perf_counter()
    model = registry.model_for(args.language)
    print(f"model load: {time.perf_counter() - started:.2f} s, +{rss_mb() - before:.0f} MB RSS")

    before = rss_mb()
    idle = [new_recognizer(model, 16000) for _ in range(4)]
    print(f"fresh recogniser: +{(rss_mb() - before) / 4:.1f} MB RSS each")
    del idle

    print(f"\naudio: {audio_s:.1f} s of espeak-ng speech, 100 ms frames")
    before = rss_mb()
    async with await SpeechStream.open(args.language, label="bench") as stream:
        for index in range(args.passes):
            decode_before, started = stream.decode_s, time.perf_counter()
            cpu_before = time.process_time()
            for frame in frames(pcm):
                await stream.accept(AudioChunk(frame, 16000))
            await stream.finish_utterance()
            wall = time.perf_counter() - started
            decode = stream.decode_s - decode_before
            cpu = time.process_time() - cpu_before
            print(
                f"SpeechStream pass {index + 1}: RTF {decode / audio_s:.3f} "
                f"(decode {decode:.2f} s, wall {wall:.2f} s, CPU {cpu:.2f} s), "
                f"stream RSS +{rss_mb() - before:.0f} MB"
            )
    for index in range(2):
        started, cpu_before = time.perf_counter(), time.process_time()
        await transcribe_pcm(pcm, 16000, args.language)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_before
        print(
            f"transcribe_pcm (fresh recogniser) {index + 1}: RTF {wall / audio_s:.3f} "
            f"(wall {wall:.2f} s, CPU {cpu:.2f} s)"
        )

    print("\nreproducibility (same audio, fresh recognisers):")
    runs = [decode_texts(model, pcm, 3200) for _ in range(2)]
    print(f"  100 ms chunks, no reseed:        identical={runs[0] == runs[1]}")
    seeded = []
    for _ in range(2):
        _libc.srand(1)
        seeded.append(decode_texts(model, pcm, 3200))
    print(f"  100 ms chunks, rand() reseeded:  identical={seeded[0] == seeded[1]}")
    for chunk_bytes in (1600, 32000, len(pcm)):
        _libc.srand(1)
        other = decode_texts(model, pcm, chunk_bytes)
        print(
            f"  {chunk_bytes / 32:.0f} ms chunks vs 100 ms, reseeded: "
            f"identical={other == seeded[0]}, utterances {len(other)} vs {len(seeded[0])}"
        )
    print(f"\nload average at end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
