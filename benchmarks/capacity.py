"""Capacity: fresh interviews arriving one after another, against a daphne it starts.

    .venv/bin/python benchmarks/capacity.py                    # N = 2,4,6,8,10
    .venv/bin/python benchmarks/capacity.py --sizes 1 --answers 1   # a smoke run
    .venv/bin/python benchmarks/capacity.py --against ../old-tree   # before and after, one run
    .venv/bin/python benchmarks/capacity.py --rules                 # RT_TURN_RULE signals vs silence

For each N, N candidates on fresh sessions arrive 0.8 s apart. Each opens
its socket, sends `audio.config` and `interview.start` and, if its audio is
admitted, speaks its answers (espeak-ng Korean, real-time paced 100 ms
frames) with `turn.end` after each, the scripted AI replying between them,
then ends its interview (`interview.end`, which frees its place). A
candidate told `server_busy` before its first answer counts as refused;
`server_busy` after its audio was accepted is counted apart (it must not
happen). Printed per N:

- p50/p95 from an answer's last audio frame to its `turn.committed`;
- admitted and refused candidates, refused after admission, errors
  (`audio_overflow` means audio was dropped);
- server CPU per live stream (share of one core) and peak RSS;
- the raw in-process Vosk ceiling on the same audio in the same run (audio
  seconds decoded per CPU second by warm recognisers, for as many streams as
  were admitted: how many real-time streams one core can decode at best).

The server runs with this tree's defaults (admission by measured headroom,
RT_STT_MAX_STREAMS as its bound, the warm pool), except that it is given
sessions enough; it is left to warm its pool before the first level.
Reuses benchmarks/streams.py's server, clients' pacing and raw ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402

from benchmarks.streams import (  # noqa: E402
    FRAME_MS,
    RATE,
    RawVosk,
    Server,
    answer_audio,
    paced,
    pct,
    peak_rss_mb,
    reset_peak_rss,
)
from interview_rt.settings.runtime import RuntimeSettings  # noqa: E402
from interviews.wire import EventType  # noqa: E402
from tests.audio_fixtures import frames  # noqa: E402

ARRIVAL_GAP_S = 0.8
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
        event = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.perf_counter()))
        if event["type"] in HEARD:
            seen.heard = True
        if event["type"] == "error":
            if event["code"] == "server_busy":
                # Refused once its audio was taken: what must never happen. (A
                # tree that refuses at the first audio frame refuses before that.)
                if seen.heard:
                    seen.refused_late = True
                seen.admitted = False
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


async def level(server: Server, n: int, answers: list[bytes]) -> dict:
    base = f"ws://127.0.0.1:{server.port}"
    reset_peak_rss(server.proc.pid)
    cpu0, wall0 = server.cpu_s()["all"], time.perf_counter()
    sessions = server.take_sessions(n)
    seen = await asyncio.gather(
        *(
            candidate(base, sid, token, answers, i * ARRIVAL_GAP_S)
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
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    answers = answer_audio()[: args.answers]
    raw = RawVosk(answers, max(sizes))
    defaults = RuntimeSettings()
    trees: list[tuple[str, Path, dict[str, str]]] = [("new", ROOT, {})]
    if args.against:
        trees.append(("old", args.against.resolve(), {}))
    if args.rules:
        # The whole product path under each turn rule: its model calls' CPU counts.
        trees = [("sig", ROOT, {"RT_TURN_RULE": "signals"})]
        trees.append(("fix", ROOT, {"RT_TURN_RULE": "silence"}))
    servers = {}
    try:
        for name, root, extra_env in trees:
            bound = tree_default_max_streams(root)
            servers[name] = Server(
                sessions=sum(sizes),
                root=root,
                env={"RT_STT_MAX_STREAMS": str(bound), **extra_env},
            )
            print(f"{name} ({root}): bound {bound}; {wait_idle(servers[name]):.0f} s until idle")
        print(
            f"new admission: latency target {defaults.stt_latency_target_ms} ms, "
            f"warm pool {defaults.stt_warm_pool_size}"
        )
        print(HEADER)
        for n in sizes:
            # Old and new take turns at each level, so both see the same machine.
            for name, _root, _env in reversed(trees):
                server = servers[name]
                r = await level(server, n, answers)
                ceiling = raw.efficiency(max(1, r["admitted"]))
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
    asyncio.run(main())
