"""Capacity: fresh interviews arriving one after another, against a daphne it starts.

    .venv/bin/python benchmarks/capacity.py                    # N = 2,4,6,8,10
    .venv/bin/python benchmarks/capacity.py --sizes 1 --answers 1   # a smoke run
    .venv/bin/python benchmarks/capacity.py --against ../old-tree   # before and after, one run
    .venv/bin/python benchmarks/capacity.py --rules                 # RT_TURN_RULE signals vs silence
    .venv/bin/python benchmarks/capacity.py --allocators            # RT_ALLOCATOR jemalloc vs system
    .venv/bin/python benchmarks/capacity.py --graphs                # static graph vs lazy (needs
                                                                    # manage.py build_static_graph)
    .venv/bin/python benchmarks/capacity.py --graphs --against ../old-tree  # both, and before
    .venv/bin/python benchmarks/capacity.py --bound 10              # admission by headroom alone

For each N, N candidates on fresh sessions arrive 0.8 s apart. Each opens
its socket, sends `audio.config` and `interview.start` and, if its audio is
admitted, speaks its answers (espeak-ng Korean, real-time paced 100 ms
frames; every answer of the run a sentence of its own, see OPENINGS) with
`turn.end` after each, the scripted AI replying between them,
then ends its interview (`interview.end`, which frees its place). A
candidate told `server_busy` before its first answer counts as refused;
`server_busy` after its audio was accepted is counted apart (it must not
happen). Printed per N:

- p50/p95 from an answer's last audio frame to its `turn.committed`;
- admitted and refused candidates, refused after admission, errors
  (`audio_overflow` means audio was dropped);
- server CPU per live stream (share of one core) and peak RSS;
- the raw in-process Vosk ceiling on the same audio in the same run (audio
  seconds decoded per CPU second by new recognisers warmed on the shipped
  warm-up recording, as the server's pool warms them, one per admitted
  stream: how many real-time streams one core can decode at best).

The server runs with this tree's defaults (admission by measured headroom,
RT_STT_MAX_STREAMS as its bound, the warm pool), except that it is given
sessions enough; it is left to warm its pool before the first level.
Reuses benchmarks/streams.py's server and clients' pacing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402

from benchmarks.streams import (  # noqa: E402
    FRAME_MS,
    RATE,
    Server,
    decode_interleaved,
    korean_model,
    korean_model_folder,
    new_recognizer,
    paced,
    pct,
    peak_rss_mb,
    reset_peak_rss,
    same_allocator,
)
from interview_rt.settings.runtime import RuntimeSettings  # noqa: E402
from interviews.wire import EventType  # noqa: E402
from tests.audio_fixtures import frames, silence, speak  # noqa: E402

ARRIVAL_GAP_S = 0.8

# Answers are made from these, a different sentence for every answer of every
# candidate: Vosk's recognisers compose the Korean model's lookahead graph on
# the fly and keep what they composed, so a recogniser decodes words it has
# decoded before two to three times faster (docs/benchmarks.md, "Capacity").
# Real candidates say new things; a benchmark repeating three answers would
# measure that cache, not an interview.
OPENINGS = [
    "지난 회사에서",
    "대학교 때",
    "첫 번째 프로젝트에서",
    "작년 여름에",
    "인턴십 동안",
    "동아리 활동에서",
    "지금 팀에서",
    "혼자 공부하면서",
    "고객과 일하면서",
    "야간 근무 중에",
]
SUBJECTS = [
    "데이터 파이프라인을",
    "모바일 앱을",
    "결제 시스템을",
    "검색 기능을",
    "배포 자동화를",
    "재고 관리 도구를",
    "채팅 서비스를",
    "보안 점검을",
    "추천 알고리즘을",
]
ENDINGS = [
    "처음부터 설계했습니다",
    "더 빠르게 개선했습니다",
    "동료와 함께 고쳤습니다",
    "다시 작성해야 했습니다",
    "테스트하고 문서로 남겼습니다",
]
HEARD = {EventType.TRANSCRIPT_PARTIAL, EventType.TRANSCRIPT_FINAL, EventType.TURN_COMMITTED}
WAIT_S = 60


@dataclass
class Candidate:
    admitted: bool = True
    committed_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused_late: bool = False
    audio_s: float = 0.0
    # Whether the server took any of its audio (a transcript event came back).
    heard: bool = False


async def until(ws, kind: str, seen: Candidate) -> dict | None:
    """Events up to the next `kind`; errors are noted (server_busy as a refusal)."""
    deadline = time.perf_counter() + WAIT_S
    while time.perf_counter() < deadline:
        try:
            raw = await asyncio.wait_for(ws.recv(), deadline - time.perf_counter())
        except TimeoutError:
            break  # counted below: a candidate left waiting, not a crashed benchmark
        event = json.loads(raw)
        if event["type"] in HEARD:
            seen.heard = True
        if event["type"] == "error":
            if event["code"] == "server_busy":
                # Refused once its audio was taken: what must never happen. (A
                # tree that refuses at the first audio frame refuses before that.)
                if seen.heard:
                    seen.refused_late = True
                seen.admitted = False
                if kind == EventType.TURN_COMMITTED:
                    # The refusal came after the greeting, as the first answer
                    # went out (the stream opens beside interview.start): that
                    # answer's audio was never taken, so no commit will come.
                    return None
            else:
                seen.errors.append(event["code"])
        if event["type"] == kind:
            return event
    seen.errors.append(f"timeout waiting for {kind}")
    return None


async def candidate(base: str, sid: str, token: str, answers: list[bytes], delay: float):
    seen = Candidate()
    await asyncio.sleep(delay)
    url = f"{base}/ws/interview/{sid}/?token={token}"
    async with websockets.connect(
        url, origin=base.replace("ws://", "http://"), max_size=None
    ) as ws:
        await ws.send(json.dumps({"type": "audio.config", "sample_rate": RATE}))
        await ws.send(json.dumps({"type": "interview.start"}))
        await until(ws, "ai.message", seen)
        if not seen.admitted:
            return seen  # told server_busy before its first answer
        for pcm in answers:
            await paced(ws, frames(pcm, RATE, FRAME_MS), [])
            last = time.perf_counter()
            seen.audio_s += len(pcm) / 2 / RATE
            await ws.send(json.dumps({"type": "turn.end"}))
            if await until(ws, "turn.committed", seen) is not None:
                seen.committed_ms.append((time.perf_counter() - last) * 1000)
            if not seen.admitted:
                break  # refused at its first audio frame (a tree that does so)
            await until(ws, "ai.message", seen)
        await ws.send(json.dumps({"type": "interview.end"}))
        await until(ws, "interview.ended", seen)
    return seen


def wait_idle(server: Server, quiet_s: int = 3, most_s: int = 180) -> float:
    """Until the server's CPU stays idle (its warm pool filled); seconds waited."""
    started = time.monotonic()
    quiet, last = 0, server.cpu_s()["all"]
    while quiet < quiet_s and time.monotonic() - started < most_s:
        time.sleep(1)
        now = server.cpu_s()["all"]
        quiet = quiet + 1 if now - last < 0.05 else 0
        last = now
    return time.monotonic() - started


def sentences():
    """Every answer sentence of the run, each once (450), neighbours differing
    in every word."""
    for opening in OPENINGS:
        for ending in ENDINGS:
            for subject in SUBJECTS:
                yield f"{opening} {subject} {ending}"


def fresh_answers(source, n: int, per_candidate: int) -> list[list[bytes]]:
    """`per_candidate` answers for each of n candidates, sentences no earlier
    answer of the run used (0.3 s of silence, then the speech)."""
    return [[silence(0.3) + speak(next(source)) for _ in range(per_candidate)] for _ in range(n)]


class FreshRawVosk:
    """The raw ceiling on fresh content: in-process Vosk with new recognisers,
    each warmed on the shipped warm-up recording as the server's pool warms
    them, decoding one level's answers (each stream its own candidate's),
    frames interleaved, a PartialResult after each, FinalResult + Reset after
    each answer; audio seconds per CPU second, one thread."""

    def __init__(self, static: bool | None = None) -> None:
        self.folder = korean_model_folder(static)
        self.model = korean_model(static)
        with wave.open(str(ROOT / "speech" / "data" / "warmup-ko.wav"), "rb") as recording:
            self.warmup = recording.readframes(recording.getnframes())

    def efficiency(self, answers: list[list[bytes]]) -> float:
        recs = []
        for _ in answers:
            rec = new_recognizer(self.model)
            decode_interleaved([rec], [self.warmup])
            recs.append(rec)
        cpu0, audio = time.process_time(), 0.0
        for k in range(len(answers[0])):
            audio += decode_interleaved(recs, [stream[k] for stream in answers])
        return audio / (time.process_time() - cpu0)


async def level(server: Server, n: int, answers: list[list[bytes]]) -> dict:
    base = f"ws://127.0.0.1:{server.port}"
    reset_peak_rss(server.proc.pid)
    cpu0, wall0 = server.cpu_s()["all"], time.perf_counter()
    sessions = server.take_sessions(n)
    seen = await asyncio.gather(
        *(
            candidate(base, sid, token, answers[i], i * ARRIVAL_GAP_S)
            for i, (sid, token) in enumerate(sessions)
        )
    )
    cpu, wall = server.cpu_s()["all"] - cpu0, time.perf_counter() - wall0
    admitted = [c for c in seen if c.admitted or c.refused_late]
    committed = [x for c in seen for x in c.committed_ms]
    return {
        "n": n,
        "p50": pct(committed, 0.5),
        "p95": pct(committed, 0.95),
        "admitted": len(admitted),
        "refused": n - len(admitted),
        "refused_late": sum(c.refused_late for c in seen),
        "errors": sorted({e for c in seen for e in c.errors}),
        "overflows": sum(c.errors.count("audio_overflow") for c in seen),
        "cpu_per_stream": cpu / wall / len(admitted) if admitted else float("nan"),
        "peak_rss": peak_rss_mb(server.proc.pid),
    }


HEADER = (
    "tree  N  p50 last frame->committed  p95  admitted  refused  refused after admission"
    "  audio_overflow  CPU per live stream  peak RSS  raw Vosk audio s/CPU s  errors"
)


def tree_default_max_streams(root: Path) -> int:
    """RT_STT_MAX_STREAMS's default in the tree at `root` (each tree runs with its own)."""
    out = subprocess.run(
        [
            str(root / ".venv" / "bin" / "python"),
            "-c",
            "from interview_rt.settings.runtime import RuntimeSettings as R;"
            "print(R().stt_max_streams)",
        ],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2,4,6,8,10")
    parser.add_argument("--answers", type=int, default=3, help="answers per candidate (1-3)")
    parser.add_argument(
        "--against",
        type=Path,
        help="another tree (with its own .venv) measured in the same run, level by level",
    )
    parser.add_argument(
        "--rules",
        action="store_true",
        help="this tree twice, RT_TURN_RULE=signals and =silence, level by level in one run",
    )
    parser.add_argument(
        "--allocators",
        action="store_true",
        help="this tree twice, RT_ALLOCATOR=jemalloc and =system, level by level in one run",
    )
    parser.add_argument(
        "--graphs",
        action="store_true",
        help="this tree twice, RT_VOSK_STATIC_GRAPH=true (the overlay build_static_graph "
        "built) and =false (the model's lazy graph), level by level in one run, each with "
        "its own raw ceiling",
    )
    parser.add_argument(
        "--bound",
        type=int,
        help="RT_STT_MAX_STREAMS for every tree (default: each tree's own default), "
        "to see how many admission by headroom lets in below a higher bound",
    )
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    source = sentences()
    defaults = RuntimeSettings()
    trees: list[tuple[str, Path, dict[str, str]]] = [("new", ROOT, {})]
    if args.against:
        trees.append(("old", args.against.resolve(), {}))
    if args.rules:
        # The whole product path under each turn rule: its model calls' CPU counts.
        trees = [("sig", ROOT, {"RT_TURN_RULE": "signals"})]
        trees.append(("fix", ROOT, {"RT_TURN_RULE": "silence"}))
    if args.allocators:
        trees = [("je", ROOT, {"RT_ALLOCATOR": "jemalloc"})]
        trees.append(("sys", ROOT, {"RT_ALLOCATOR": "system"}))
    if args.graphs:
        trees = [("stat", ROOT, {"RT_VOSK_STATIC_GRAPH": "true"})]
        trees.append(("lazy", ROOT, {"RT_VOSK_STATIC_GRAPH": "false"}))
        if korean_model_folder(True) == korean_model_folder(False):
            raise SystemExit("No static graph for this model: run manage.py build_static_graph.")
        raws: dict[str | None, FreshRawVosk] = {
            "stat": FreshRawVosk(static=True),
            "lazy": FreshRawVosk(static=False),
        }
        if args.against:
            # Before, and after on either graph, in one run: an older tree decodes
            # the model's own (lazy) graph.
            trees.append(("old", args.against.resolve(), {}))
            raws["old"] = raws["lazy"]
    else:
        raws = {None: FreshRawVosk()}
    for raw in raws.values():
        print(f"raw ceiling decodes {raw.folder}")
    servers = {}
    try:
        for name, root, extra_env in trees:
            bound = args.bound if args.bound is not None else tree_default_max_streams(root)
            servers[name] = Server(
                sessions=sum(sizes),
                root=root,
                env={
                    "RT_STT_MAX_STREAMS": str(bound),
                    # Admission by measured headroom, as the tree ships it.
                    "RT_STT_LATENCY_TARGET_MS": str(defaults.stt_latency_target_ms),
                    **extra_env,
                },
            )
            print(f"{name} ({root}): bound {bound}; {wait_idle(servers[name]):.0f} s until idle")
        print(
            f"new admission: latency target {defaults.stt_latency_target_ms} ms, "
            f"warm pool {defaults.stt_warm_pool_size}"
        )
        print(HEADER)
        for n in sizes:
            # Every tree gets the same new sentences at a level (none heard before).
            answers = fresh_answers(source, n, args.answers)
            # Old and new take turns at each level, so both see the same machine.
            for name, _root, _env in reversed(trees):
                server = servers[name]
                r = await level(server, n, answers)
                raw = raws.get(name) or raws[None]
                ceiling = raw.efficiency(answers[: max(1, r["admitted"])])
                print(
                    f"{name:4s} {n:2d}  {r['p50']:24.0f} ms {r['p95']:5.0f} ms  {r['admitted']:8d}"
                    f"  {r['refused']:7d}  {r['refused_late']:23d}  {r['overflows']:14d}"
                    f"  {r['cpu_per_stream']:18.0%}  {r['peak_rss']:5.0f} MB"
                    f"  {ceiling:22.2f}  {','.join(r['errors']) or '-'}",
                    flush=True,
                )
                wait_idle(server)  # the places of ended interviews are free again
    finally:
        for server in servers.values():
            server.stop()


if __name__ == "__main__":
    same_allocator()
    asyncio.run(main())
