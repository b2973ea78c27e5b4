"""The static graph against the model's lazy one, in-process, on fresh answers.

    .venv/bin/python manage.py build_static_graph          # once, ~13 min
    .venv/bin/python benchmarks/static_graph.py [--answers 60] [--recognisers 3]

Two child processes start at the same time, one per core: one loads the
model's own folder (HCLr.fst and Gr.fst, composed lazily by every
recogniser), the other the overlay `manage.py build_static_graph` built from
it (speech/static_graph.py). Each opens `--recognisers` recognisers as the
server's warm pool does (warmed on the shipped warm-up recording), then
decodes the same fresh answers (capacity.py's sentences, espeak-ng Korean,
each sentence once) round-robin over them, 100 ms frames with a partial
after each, FinalResult + Reset after each answer, unpaced. Printed per
graph: model load time and RSS, what the warm recognisers added, audio
seconds decoded per CPU second after each third of the answers, the
recognisers' growth over the answers, and whether the transcripts are word
for word the same (the lazy graph's are the reference).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.capacity import sentences  # noqa: E402
from benchmarks.streams import (  # noqa: E402
    FRAME_MS,
    RATE,
    korean_model_folder,
    new_recognizer,
    rss_mb,
    same_allocator,
)
from tests.audio_fixtures import silence, speak  # noqa: E402

FRAME_BYTES = RATE * 2 * FRAME_MS // 1000


def decode(rec, pcm: bytes) -> str:
    for i in range(0, len(pcm), FRAME_BYTES):
        if rec.AcceptWaveform(pcm[i : i + FRAME_BYTES]):
            rec.Result()
        else:
            rec.PartialResult()
    text = json.loads(rec.FinalResult()).get("text", "")
    rec.Reset()
    return text


def child(folder: Path, answers_file: Path, recognisers: int) -> dict:
    import vosk

    vosk.SetLogLevel(-2)
    base = rss_mb()
    started = time.monotonic()
    model = vosk.Model(str(folder))
    loaded_s = time.monotonic() - started
    model_mb = rss_mb() - base
    with wave.open(str(ROOT / "speech" / "data" / "warmup-ko.wav"), "rb") as recording:
        warmup = recording.readframes(recording.getnframes())
    before_recs = rss_mb()
    recs = []
    for _ in range(recognisers):
        rec = new_recognizer(model)
        decode(rec, warmup)
        recs.append(rec)
    warm_mb = rss_mb() - before_recs
    answers = json.loads(answers_file.read_text())
    pcms = [bytes.fromhex(a) for a in answers]
    before_answers = rss_mb()
    thirds, texts, audio_s = [], [], 0.0
    cpu0 = time.process_time()
    for k, pcm in enumerate(pcms):
        texts.append(decode(recs[k % len(recs)], pcm))
        audio_s += len(pcm) / (2 * RATE)
        if (k + 1) % max(1, len(pcms) // 3) == 0 and len(thirds) < 3:
            thirds.append((k + 1, audio_s / (time.process_time() - cpu0)))
    return {
        "folder": str(folder),
        "load_s": loaded_s,
        "model_mb": model_mb,
        "warm_mb": warm_mb,
        "thirds": thirds,
        "growth_mb": rss_mb() - before_answers,
        "texts": texts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=60)
    parser.add_argument("--recognisers", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--answers-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.answers_file, args.recognisers)))
        return

    lazy, static = korean_model_folder(False), korean_model_folder(True)
    if lazy == static:
        raise SystemExit("No static graph for this model: run manage.py build_static_graph.")
    source = sentences()
    answers = [silence(0.3) + speak(next(source)) for _ in range(args.answers)]
    spoken_s = sum(len(a) for a in answers) / (2 * RATE)
    answers_file = ROOT / "var" / "static-graph-answers.json"
    answers_file.parent.mkdir(exist_ok=True)
    answers_file.write_text(json.dumps([a.hex() for a in answers]))
    print(
        f"{args.answers} fresh answers, {spoken_s:.0f} s of speech; {args.recognisers} recognisers"
    )
    print(f"lazy:   {lazy}\nstatic: {static}")
    try:
        # Both at once, one per core: each sees the same machine.
        procs = {
            name: subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    str(folder),
                    "--answers-file",
                    str(answers_file),
                    "--recognisers",
                    str(args.recognisers),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for name, folder in (("lazy", lazy), ("static", static))
        }
        results = {}
        for name, proc in procs.items():
            out, _ = proc.communicate()
            if proc.returncode:
                raise SystemExit(f"the {name} child failed ({proc.returncode})")
            results[name] = json.loads(out.strip().splitlines()[-1])
    finally:
        answers_file.unlink(missing_ok=True)

    print(
        "graph   | load  | model RSS | warm recognisers | audio s per CPU s after "
        + " / ".join(str(k) for k, _ in results["lazy"]["thirds"])
        + " answers | recognisers' growth | transcripts"
    )
    reference = results["lazy"]["texts"]
    for name, r in results.items():
        same = sum(a == b for a, b in zip(r["texts"], reference, strict=True))
        speeds = " / ".join(f"{v:.2f}" for _, v in r["thirds"])
        print(
            f"{name:7s} | {r['load_s']:.1f} s | {r['model_mb']:6.0f} MB | {r['warm_mb']:+13.0f} MB"
            f" | {speeds:>24s} | {r['growth_mb']:+16.0f} MB | {same}/{len(reference)} as lazy"
        )
    differing = [
        (i, a, b)
        for i, (a, b) in enumerate(zip(results["static"]["texts"], reference, strict=True))
        if a != b
    ]
    for i, a, b in differing[:5]:
        print(f"  answer {i}: static {a!r} / lazy {b!r}")


if __name__ == "__main__":
    same_allocator()
    main()
