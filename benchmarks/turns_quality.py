"""Turn-taking quality: today's fixed-silence rule against the signals' rule, one run.

Run: .venv/bin/python manage.py ensure_turn_models   (once)
     .venv/bin/python benchmarks/turns_quality.py [--quick] [--missed-after 4] [--grace 3]

The set is made here, at run time, and cached (never committed): Korean
answers spoken by espeak-ng (-v ko) and resampled by sox to 16 kHz, each piece
trimmed of espeak's own leading and trailing silence so pauses are exact:

- complete answers followed by silence;
- two complete sentences with a pause between them (a clause boundary: a
  complete thought, a pause, then more) and a first half ending in a
  connective ending (-고, -는데, -면) with a pause before the rest
  (mid-clause), for pauses of 0.5, 1.0, 1.6, 2.0, 2.5 and 3.0 s;
- fillers (음, 그러니까) followed by a pause;
- noise: 3 s of white noise alone, and a complete answer with a white noise
  burst in the silence after it.

Each clip is fed in 100 ms chunks, in simulated time, through the real Vosk
recogniser (the Korean test model) and live.turns.TurnTaker twice: (a) the
fixed rule (RT_TURN_RULE=silence: RT_TURN_SILENCE_S after the last word or
voiced chunk, voice by the spectral-flatness check), (b) with live.turn_rule's
SignalRule setting its silence pause by pause (voice by Silero VAD, Smart
Turn, the words, the rhythm), as live sessions do by default (live/listener.py
also ignores words far from voiced audio; tests/e2e/test_turn_latency.py
measures the live path). Latency from the last audio of an answer to its
commit is the simulated decision time, plus the measured CPU time of the
Smart Turn call at that pause, plus the measured time of the recogniser's
flush (both rules).

Prints: the false cut-off rate (a pause inside an answer ended the turn),
before and after a simulated take-back (speech resumed within --grace s of
the commit), the missed-end rate (an answer not ended within --missed-after
s of its last audio), latency p50/p95, turns started by noise, and each
signal's accuracy on the set. Figures are indicative: a 2-core machine
shared with other work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RATE = 16000
CHUNK_S = 0.1
LEAD_S = 0.5
PAUSES_S = (0.5, 1.0, 1.6, 2.0, 2.5, 3.0)
COMPLETE = (
    "저는 파이썬으로 서버를 개발했습니다",
    "그 일은 정말 재미있었어요",
    "팀원들과 함께 문제를 해결했습니다",
    "결과적으로 응답 시간이 절반으로 줄었습니다",
)
BOUNDARY = (
    ("저는 백엔드 개발자입니다", "주로 결제 시스템을 만들었습니다"),
    ("그 프로젝트는 어려웠습니다", "하지만 많이 배웠어요"),
)
MID_CLAUSE = (
    ("저는 데이터를 정리하고", "보고서를 작성했습니다"),
    ("그 프로젝트는 어려웠는데", "팀원들이 많이 도와줬습니다"),
    ("문제가 생기면", "먼저 로그를 확인합니다"),
)
FILLERS = (("음", "저는 테스트를 먼저 작성합니다"), ("그 문제는 그러니까", "캐시 때문이었습니다"))


@dataclass
class Pause:
    start_s: float
    end_s: float
    label: str  # boundary | mid | filler


@dataclass
class Clip:
    name: str
    kind: str  # complete | boundary | mid | filler | noise
    pcm: bytes
    speech: list[tuple[float, float]] = field(default_factory=list)  # spoken pieces
    pauses: list[Pause] = field(default_factory=list)

    @property
    def answer_end_s(self) -> float | None:
        return self.speech[-1][1] if self.speech else None


def trimmed(pcm: bytes, level: int = 300) -> bytes:
    samples = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > level)
    return samples[loud[0] : loud[-1] + 1].tobytes() if len(loud) else b""


def build(parts: list, name: str, kind: str, tail_s: float) -> Clip:
    """`parts`: text to speak, ("pause", s, label), ("noise", s) or ("silence", s)."""
    from tests.audio_fixtures import silence, speak, white_noise

    clip = Clip(name, kind, silence(LEAD_S))
    for part in parts:
        at = len(clip.pcm) / 2 / RATE
        if isinstance(part, str):
            piece = trimmed(speak(part))
            clip.speech.append((at, at + len(piece) / 2 / RATE))
        elif part[0] == "pause":
            piece = silence(part[1])
            clip.pauses.append(Pause(at, at + part[1], part[2]))
        elif part[0] == "noise":
            piece = white_noise(part[1], seed=len(clip.pcm))
        else:
            piece = silence(part[1])
        clip.pcm += piece
    clip.pcm += silence(tail_s)
    return clip


def make_set(quick: bool, tail_s: float) -> list[Clip]:
    pauses = (1.0, 2.5) if quick else PAUSES_S
    clips = [build([t], f"complete {i}", "complete", tail_s) for i, t in enumerate(COMPLETE)]
    for label, pairs in (("boundary", BOUNDARY), ("mid", MID_CLAUSE)):
        for i, (first, rest) in enumerate(pairs[:1] if quick else pairs):
            for p in pauses:
                parts = [first, ("pause", p, label), rest]
                clips.append(build(parts, f"{label} {i} {p}s", label, tail_s))
    for i, (first, rest) in enumerate(FILLERS):
        clips.append(
            build([first, ("pause", 1.5, "filler"), rest], f"filler {i}", "filler", tail_s)
        )
    clips.append(build([("noise", 3.0)], "white noise 3s", "noise", 2.0))
    burst = [COMPLETE[0], ("silence", 0.5), ("noise", 0.3)]
    clips.append(build(burst, "answer + noise burst", "complete", tail_s))
    return clips


@dataclass
class Commit:
    at_s: float  # simulated decision time
    extra_s: float  # measured: Smart Turn at that pause + the recogniser's flush
    text: str | None  # None: dropped (noise, nothing recognised)


def run(clip: Clip, model, rule_kind: str, vad_session, smart, lexical_at: dict) -> list[Commit]:
    from django.conf import settings

    from live.frames import EndedBy
    from live.turn_rule import SignalRule
    from live.turn_signals import ending, pauses
    from live.turns import Flushed, Heard, TurnTaker
    from speech import vad
    from speech.interface import StreamOptions
    from speech.silero import SileroVad
    from speech.vosk_engine import VoskEngine

    stream = VoskEngine().open(model, RATE, StreamOptions())
    taker = TurnTaker(silence_s=settings.RT.turn_silence_s)
    rule = None
    if rule_kind == "signals":
        rule = SignalRule("ko", vad=SileroVad(vad_session), smart_turn=smart)
    commits: list[Commit] = []
    finals: list[str] = []
    last_word_end: float | None = None
    step = int(CHUNK_S * RATE) * 2
    probes = sorted((p.start_s + 0.5, p) for p in clip.pauses)
    for i in range(0, len(clip.pcm), step):
        chunk = clip.pcm[i : i + step]
        now = (i + len(chunk)) / 2 / RATE
        final = stream.feed(chunk)
        if rule is None:
            voiced = vad.voiced_seconds(chunk, RATE)
        else:
            voiced = rule.hear(chunk, now)
            if final is None and rule.wants_words(now):
                final = stream.finish()  # the words so far, not a second late
        partial = stream.partial()
        results = ((final,) if final else ()) + ((partial,) if partial.text else ())
        for result in results:
            if result.end_s is not None:
                last_word_end = max(last_word_end or 0.0, result.end_s)
        if final and final.text:
            finals.append(final.text)
        text = " ".join([*finals, partial.text]).strip()
        while probes and now >= probes[0][0]:
            lexical_at.setdefault(rule_kind, []).append((probes.pop(0)[1], ending(text, "ko")))
        if rule is not None:
            rule.words(text, last_word_end)
            taker.silence_s = rule.silence_s(now)
        decision = taker.feed(Heard(now, voiced, results, last_word_end))
        if decision.end_turn:
            started = time.perf_counter()
            flushed = stream.finish()
            extra = time.perf_counter() - started + (rule.compute_s if rule else 0.0)
            taker.feed(Flushed(flushed if flushed.text else None))
            turn = taker.take(EndedBy.SILENCE)
            commits.append(Commit(now, extra, turn.text if turn else None))
            if rule is not None:
                words = [w for f in (turn.finals if turn else ()) for w in f.words]
                rule.turn_taken(pauses(words))
            finals.clear()
    stream.close()
    return commits


@dataclass
class Score:
    cut: int = 0
    cut_kept: int = 0  # cut-offs a take-back within the grace window would not undo
    with_pauses: int = 0
    missed: int = 0
    answers: int = 0
    latencies: list[float] = field(default_factory=list)
    complete_latencies: list[float] = field(default_factory=list)
    noise_turns: int = 0
    cut_by_label: dict = field(default_factory=dict)
    long_cut: int = 0  # the case: pauses of 1.6 s or more
    long_pauses: int = 0


def score(clip: Clip, commits: list[Commit], s: Score, missed_after: float, grace: float) -> None:
    real = [c for c in commits if c.text]
    if clip.kind == "noise":
        s.noise_turns += len(real)
        return
    end = clip.answer_end_s
    if clip.pauses:
        s.with_pauses += 1
        long = clip.pauses[0].end_s - clip.pauses[0].start_s >= 1.6 - 1e-6
        s.long_pauses += long
        early = [c for c in real if c.at_s < end - 1e-6]
        if early:
            s.cut += 1
            s.long_cut += long
            label = clip.pauses[0].label
            s.cut_by_label[label] = s.cut_by_label.get(label, 0) + 1
            resumes = [a for a, _ in clip.speech if a > early[0].at_s]
            if not resumes or resumes[0] - (early[0].at_s + early[0].extra_s) > grace:
                s.cut_kept += 1
    s.answers += 1
    closing = [c for c in commits if c.at_s >= end - 1e-6]
    latency = closing[0].at_s - end + closing[0].extra_s if closing else None
    if latency is None or latency > missed_after:
        s.missed += 1
        return
    s.latencies.append(latency)
    if clip.kind == "complete":
        s.complete_latencies.append(latency)


def pct(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]:.2f}"


def signal_accuracy(clips: list[Clip], vad_session, smart) -> dict[str, str]:
    """Each signal alone against the set's labels."""
    from speech import vad
    from speech.silero import SileroVad, voiced_seconds

    out: dict[str, str] = {}
    right = {False: [0, 0], True: [0, 0]}  # incomplete? -> [right, total]
    costs = []
    for clip in clips:
        samples = np.frombuffer(clip.pcm, dtype="<i2").astype(np.float32) / 32768
        points = [(p.start_s + 0.2, p.label != "boundary") for p in clip.pauses]
        if clip.kind != "noise" and clip.speech:
            points.append((clip.answer_end_s + 0.2, False))  # the answer's end: complete
        for at, incomplete in points:
            started = time.process_time()
            p = smart.probability(samples[: int(at * RATE)])
            costs.append(time.process_time() - started)
            right[incomplete][0] += (p <= 0.5) == incomplete
            right[incomplete][1] += 1
    (c_right, c_all), (i_right, i_all) = right[False], right[True]
    out["smart_turn"] = (
        f"{c_right + i_right}/{c_all + i_all} right at 0.5: complete {c_right}/{c_all}, "
        f"incomplete (mid-clause, filler) {i_right}/{i_all}"
    )
    out["smart_turn_ms"] = f"{statistics.median(costs) * 1000:.0f} ms CPU per call (median)"
    for name, voiced_fn in (("flatness", None), ("silero", SileroVad)):
        found = pieces = 0
        noise_voiced = 0.0
        for clip in clips:
            step = int(CHUNK_S * RATE) * 2
            model = voiced_fn(vad_session) if voiced_fn else None
            per_chunk = []
            for i in range(0, len(clip.pcm), step):
                chunk = clip.pcm[i : i + step]
                v = (
                    voiced_seconds(model.accept(chunk))
                    if model
                    else vad.voiced_seconds(chunk, RATE)
                )
                per_chunk.append(((i + len(chunk)) / 2 / RATE, v))
            for a, b in clip.speech:
                pieces += 1
                found += sum(v for t, v in per_chunk if a < t <= b + CHUNK_S) >= 0.15
            if clip.kind == "noise":
                noise_voiced += sum(v for _, v in per_chunk)
        out[name] = (
            f"{found}/{pieces} spoken pieces found; {noise_voiced:.2f} s voiced in 3 s of noise"
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small subset (development)")
    parser.add_argument("--missed-after", type=float, default=4.0)
    parser.add_argument("--grace", type=float, default=3.0, help="take-back window (s)")
    parser.add_argument("--only", help="clips of one kind: complete, boundary, mid, filler, noise")
    parser.add_argument("--detail", action="store_true", help="print each clip's commits")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interview_rt.settings.test")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()
    from speech import silero, smart_turn
    from speech.model_registry import registry

    model = registry.model_for("ko")
    vad_session, smart = silero.load_session(), smart_turn.SmartTurn()
    clips = make_set(args.quick, tail_s=args.missed_after + 1.0)
    clips = [c for c in clips if args.only in (None, c.kind)]
    scores = {"fixed": Score(), "signals": Score()}
    lexical_at: dict = {}
    started = time.perf_counter()
    for clip in clips:
        for kind, s in scores.items():
            commits = run(clip, model, kind, vad_session, smart, lexical_at)
            score(clip, commits, s, args.missed_after, args.grace)
            if args.detail:
                at = ", ".join(f"{c.at_s:.1f}s{'' if c.text else ' (dropped)'}" for c in commits)
                print(f"{clip.name:24} {kind:8} speech ends {clip.answer_end_s or 0:.1f}s: {at}")
    elapsed = time.perf_counter() - started
    accuracy = signal_accuracy(clips, vad_session, smart)
    lexical = lexical_at.get("signals", [])
    expected = {"boundary": "complete", "mid": "mid_clause", "filler": "mid_clause"}
    lex_right = sum(verdict.value == expected[p.label] for p, verdict in lexical)
    lex_spoke = sum(verdict.value != "unknown" for _, verdict in lexical)
    lex_by = {
        label: f"{sum(v.value == want for p, v in lexical if p.label == label)}"
        f"/{sum(p.label == label for p, _ in lexical)}"
        for label, want in expected.items()
    }
    audio_s = sum(len(c.pcm) for c in clips) / 2 / RATE
    print(f"{len(clips)} clips, {audio_s:.0f} s of audio, both rules in {elapsed:.0f} s\n")
    print("| | fixed silence | signals' rule |")
    print("|---|---|---|")
    rows = [
        ("false cut-offs, before take-back", lambda s: f"{s.cut}/{s.with_pauses}"),
        ("  of which pauses of 1.6-3 s", lambda s: f"{s.long_cut}/{s.long_pauses}"),
        ("false cut-offs, after take-back", lambda s: f"{s.cut_kept}/{s.with_pauses}"),
        (
            "  by pause kind",
            lambda s: ", ".join(f"{k} {v}" for k, v in sorted(s.cut_by_label.items())) or "none",
        ),
        (f"missed ends (> {args.missed_after:g} s)", lambda s: f"{s.missed}/{s.answers}"),
        (
            "last audio to commit p50 / p95 (s)",
            lambda s: f"{pct(s.latencies, 0.5)} / {pct(s.latencies, 0.95)}",
        ),
        ("  complete answers only, p50 (s)", lambda s: pct(s.complete_latencies, 0.5)),
        ("turns started by 3 s of white noise", lambda s: str(s.noise_turns)),
    ]
    for label, cell in rows:
        print(f"| {label} | {cell(scores['fixed'])} | {cell(scores['signals'])} |")
    print("\n| signal | accuracy on this set |")
    print("|---|---|")
    print(f"| Smart Turn v3.2 | {accuracy['smart_turn']}; {accuracy['smart_turn_ms']} |")
    print(
        f"| words (lexical table) | {lex_right}/{len(lexical)} pauses right "
        f"(boundary {lex_by['boundary']}, mid-clause {lex_by['mid']}, filler {lex_by['filler']}; "
        f"a verdict on {lex_spoke}, 0.5 s into the pause, recogniser flushed at 0.2 s) |"
    )
    print(f"| voice: spectral flatness | {accuracy['flatness']} |")
    print(f"| voice: Silero VAD | {accuracy['silero']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
