"""Soak: simulated interviews back to back for a long while, watching the server's resources.

    .venv/bin/python benchmarks/soak.py                       # 30 minutes, 3 at a time
    .venv/bin/python benchmarks/soak.py --minutes 2 --plot /tmp/soak.png   # a smoke run

A daphne of this tree (the defaults: admission, the warm pool, the signals'
turn rule, the scripted interviewer) on a temp SQLite database. Interviews
run in waves of `--concurrent`, each on a fresh session: the candidate's
socket sends `audio.config` and `interview.start`, hears the greeting,
speaks one answer (espeak-ng Korean, real-time paced 100 ms frames, a
sentence no earlier answer of the run used, see benchmarks/capacity.py),
ends it with `turn.end`, hears the reply, sends `interview.end` and closes on
`interview.ended`. After each wave the benchmark reads the server's RSS,
threads, open file descriptors and sockets (from /proc) and the asyncio tasks
on its event loop (`rt_event_loop_tasks` from /metrics), once the wave's
sockets are closed.

It prints a row every few waves and, at the end, for each resource its value
after the warm-up and at the end and its growth per interview after the
warm-up (a least-squares slope over every sample since); issue 14 asks for
RSS growth under 0.05 MB per interview and no growing thread, task or socket
count. The samples go to a CSV file and a plot (`--csv`, `--plot`).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import signal
import statistics
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402

from benchmarks.capacity import WAIT_S, sentences  # noqa: E402
from benchmarks.streams import FRAME_MS, RATE, Server, paced, pct, rss_mb  # noqa: E402
from interviews.wire import EventType  # noqa: E402
from tests.audio_fixtures import frames, silence, speak  # noqa: E402

# Sessions made up front (an interview starts once per session); a wave of
# three takes about 8 s, so 30 minutes need about 700.
SESSIONS_PER_MINUTE = 30


@dataclass
class Interview:
    committed_ms: float | None = None
    errors: tuple[str, ...] = ()


async def until(ws, kind: str, errors: list[str]) -> dict | None:
    deadline = time.perf_counter() + WAIT_S
    while (left := deadline - time.perf_counter()) > 0:
        try:
            event = json.loads(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
        if event["type"] == EventType.ERROR:
            errors.append(event["code"])
        if event["type"] == kind:
            return event
    errors.append(f"timeout waiting for {kind}")
    return None


async def interview(base: str, sid: str, token: str, answer: bytes) -> Interview:
    errors: list[str] = []
    committed_ms = None
    url = f"{base}/ws/interview/{sid}/?token={token}"
    async with websockets.connect(
        url, origin=base.replace("ws://", "http://"), max_size=None
    ) as ws:
        await ws.send(json.dumps({"type": "audio.config", "sample_rate": RATE}))
        await ws.send(json.dumps({"type": "interview.start"}))
        if await until(ws, EventType.AI_MESSAGE, errors) is not None and not errors:
            await paced(ws, frames(answer, RATE, FRAME_MS), [])
            last = time.perf_counter()
            await ws.send(json.dumps({"type": "turn.end"}))
            if await until(ws, EventType.TURN_COMMITTED, errors) is not None:
                committed_ms = (time.perf_counter() - last) * 1000
            await until(ws, EventType.AI_MESSAGE, errors)
        await ws.send(json.dumps({"type": "interview.end"}))
        await until(ws, EventType.INTERVIEW_ENDED, errors)
    return Interview(committed_ms, tuple(errors))


def proc_status(pid: int) -> dict[str, float]:
    fds = list(Path(f"/proc/{pid}/fd").iterdir())
    sockets = 0
    for fd in fds:
        try:
            sockets += os.readlink(fd).startswith("socket:")
        except OSError:
            continue  # closed meanwhile
    threads = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            threads = int(line.split()[1])
    return {"rss_mb": rss_mb(pid), "threads": threads, "fds": len(fds), "sockets": sockets}


# glibc's arenas for threads other than the main one are 64 MiB-aligned
# mappings (HEAP_MAX_SIZE on 64-bit); the main thread's is [heap].
THREAD_ARENA_ALIGN = 64 << 20
MAP_CLASSES = ("heap", "arenas", "anon", "files")


def memory_map(pid: int) -> dict[str, float]:
    """--maps: the RSS of the server's mappings by kind, in MB: the main
    thread's malloc heap, other threads' malloc arenas, other anonymous
    memory (large malloc blocks, Python's own arenas, libraries' pools) and
    file-backed pages (code, the models). The first two are glibc's
    (RT_ALLOCATOR=system); on jemalloc nearly all is "anon"."""
    rss = dict.fromkeys(MAP_CLASSES, 0.0)
    kind = "files"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
            start = int(head[0].split("-")[0], 16)
            name = head[5] if len(head) > 5 else ""
            if name == "[heap]":
                kind = "heap"
            elif name and not name.startswith("["):
                kind = "files"
            elif head[1].startswith("rw") and start % THREAD_ARENA_ALIGN == 0:
                kind = "arenas"
            else:
                kind = "anon"
        elif head[0] == "Rss:":
            rss[kind] += int(head[1]) / 1024
    return {f"map_{k}": round(v, 1) for k, v in rss.items()}


def server_metrics(server: Server) -> dict[str, float]:
    """From /metrics: the event loop's tasks and the recognisers recycled so far."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/metrics",
        headers={"Authorization": f"Token {server.data['staff']}"},
    )
    wanted = {"rt_event_loop_tasks": "tasks", "rt_speech_recognisers_recycled_total": "recycled"}
    found = {}
    with urllib.request.urlopen(request, timeout=10) as response:
        for line in response.read().decode().splitlines():
            name, _, value = line.partition(" ")
            if name in wanted:
                found[wanted[name]] = float(value)
    if len(found) < len(wanted):
        raise RuntimeError(f"/metrics lacks {set(wanted.values()) - set(found)}")
    found["tasks"] -= 1  # the scrape's own request task
    return found


class Census:
    """--census: the server's heap counted now and then (benchmarks/census/)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.unlink(missing_ok=True)
        self.taken: list[tuple[int, dict]] = []

    @staticmethod
    def env(path: Path) -> dict[str, str]:
        return {"PYTHONPATH": str(ROOT / "benchmarks" / "census"), "RT_CENSUS_FILE": str(path)}

    def take(self, server: Server, interviews: int) -> None:
        lines = len(self.path.read_text().splitlines()) if self.path.exists() else 0
        os.kill(server.proc.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.path.exists() and len(rows := self.path.read_text().splitlines()) > lines:
                self.taken.append((interviews, json.loads(rows[-1])))
                return
            time.sleep(0.1)
        raise RuntimeError("the server wrote no census (was it started with --census?)")

    def report(self, warmup: int) -> None:
        after = [(n, c) for n, c in self.taken if n >= warmup]
        if len(after) < 2:
            print("census: too few counts after the warm-up")
            return
        xs = [n for n, _ in after]
        print("census (Python's heap and malloc, after the warm-up):")
        for key, unit, scale in (
            ("blocks", " blocks", 1),
            ("objects", " objects", 1),
            ("malloc_in_use", " MB", 1e-6),
            ("malloc_free", " MB", 1e-6),
        ):
            ys = [c[key] * scale for _, c in after]
            print(
                f"  {key:14s} {ys[0]:12.1f} -> {ys[-1]:12.1f}   growth {slope(xs, ys):+.4f}{unit} per interview"
            )
        first, last = after[0][1]["types"], after[-1][1]["types"]
        grown = sorted(
            ((last.get(t, 0) - first.get(t, 0), t) for t in set(first) | set(last)), reverse=True
        )
        per = xs[-1] - xs[0]
        print(
            "  types grown most:",
            ", ".join(f"{t} +{d} ({d / per:.2f}/interview)" for d, t in grown[:12] if d > 0),
        )


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares growth of ys per unit of xs."""
    if len(xs) < 2:
        return float("nan")
    return statistics.linear_regression(xs, ys).slope


def recycle_periods(samples: list[dict]) -> list[list[dict]]:
    """The samples between one recycle and the next (the RSS saw's teeth):
    a recycle frees a recogniser's memory, a new one's grows again."""
    periods: list[list[dict]] = [[]]
    for before, sample in zip([None, *samples], samples, strict=False):
        if before is not None and sample["recycled"] > before["recycled"]:
            periods.append([])
        periods[-1].append(sample)
    return [p for p in periods if p]


def recycle_report(samples: list[dict]) -> None:
    """The saw's peaks and troughs per recycle period: a least-squares line
    through a sawtooth moves with where the run stops, its envelope does not."""
    periods = recycle_periods(samples)[1:-1]  # whole teeth only: the first is the warm-up
    recycled = samples[-1]["recycled"]
    if len(periods) < 2:
        print(f"recognisers recycled: {recycled:.0f}; too few whole periods to tell the envelope")
        return
    peaks = [max(p, key=lambda s: s["rss_mb"]) for p in periods]
    troughs = [min(p, key=lambda s: s["rss_mb"]) for p in periods]
    print(f"recognisers recycled: {recycled:.0f}; {len(periods)} whole periods between recycles:")
    for name, points in (("peaks", peaks), ("troughs", troughs)):
        xs, ys = [s["interviews"] for s in points], [s["rss_mb"] for s in points]
        print(
            f"  RSS {name:7s} {' '.join(f'{y:.0f}' for y in ys)} MB"
            f"   growth {slope(xs, ys):+.4f} MB per interview"
        )


FIELDS = ("rss_mb", "threads", "fds", "sockets", "tasks")


def plot(samples: list[dict], warmup: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [s["interviews"] for s in samples]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    top.plot(done, [s["rss_mb"] for s in samples], marker=".", linewidth=1)
    top.axvline(warmup, color="grey", linestyle="--", linewidth=1)
    for period in recycle_periods(samples)[1:]:
        top.axvline(period[0]["interviews"], color="tab:red", alpha=0.3, linewidth=1)
    top.plot([], [], color="tab:red", alpha=0.3, label="a recogniser recycled")
    top.legend(loc="lower right", fontsize="small")
    top.set_ylabel("server RSS (MB)")
    top.set_title("benchmarks/soak.py: the server's resources after each wave")
    top.grid(alpha=0.3)
    for name in FIELDS[1:]:
        bottom.plot(done, [s[name] for s in samples], label=name, linewidth=1)
    bottom.axvline(warmup, color="grey", linestyle="--", linewidth=1, label="end of warm-up")
    bottom.set_xlabel("interviews done")
    bottom.set_ylabel("count")
    bottom.legend(loc="upper left", ncols=5, fontsize="small")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--concurrent", type=int, default=3, help="interviews at a time")
    parser.add_argument(
        "--warmup",
        type=int,
        default=30,
        help="interviews before growth is counted (the warm pool fills, caches settle)",
    )
    parser.add_argument("--csv", type=Path, default=Path("soak.csv"))
    parser.add_argument("--plot", type=Path, default=Path("soak.png"))
    parser.add_argument("--report-every", type=int, default=10, help="waves between rows")
    parser.add_argument(
        "--census",
        action="store_true",
        help="count the server's heap at every row (Python blocks and objects by type, "
        "malloc's bytes in use): to find what grows; it blocks the server a moment each time",
    )
    parser.add_argument(
        "--maps",
        action="store_true",
        help="split the RSS by mapping at every sample (main heap, threads' malloc arenas, "
        "other anonymous memory, files) and give each one's growth",
    )
    args = parser.parse_args()
    # A kill ends the run through `finally`, so its server does not outlive it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    census = Census(args.csv.with_suffix(".census.jsonl")) if args.census else None
    server = Server(
        sessions=int(args.minutes * SESSIONS_PER_MINUTE) + 3 * args.concurrent,
        env=Census.env(census.path) if census else None,
    )
    base = f"ws://127.0.0.1:{server.port}"
    source = sentences()
    samples: list[dict] = []
    latencies: list[float] = []
    errors: dict[str, int] = {}
    done = 0
    started = time.monotonic()
    try:
        maps = (lambda: memory_map(server.proc.pid)) if args.maps else dict
        samples.append(
            {"interviews": 0, **proc_status(server.proc.pid), **server_metrics(server), **maps()}
        )
        print(
            "interviews  minutes  RSS MB  threads  fds  sockets  tasks  "
            "p50/p95 committed (last waves)  errors",
            flush=True,
        )
        recent: list[float] = []
        wave = 0
        while time.monotonic() - started < args.minutes * 60:
            sessions = server.take_sessions(args.concurrent)
            if len(sessions) < args.concurrent:
                break  # out of sessions: the run ends early (printed below)
            answers = []
            for _ in sessions:
                try:
                    sentence = next(source)
                except StopIteration:  # 450 used: start again (a long run)
                    source = sentences()
                    sentence = next(source)
                answers.append(silence(0.3) + speak(sentence))
            results = await asyncio.gather(
                *(
                    interview(base, sid, token, pcm)
                    for (sid, token), pcm in zip(sessions, answers, strict=True)
                )
            )
            done += len(results)
            wave += 1
            for r in results:
                if r.committed_ms is not None:
                    recent.append(r.committed_ms)
                for e in r.errors:
                    errors[e] = errors.get(e, 0) + 1
            await asyncio.sleep(0.5)  # the sessions' last writes
            sample = {
                "interviews": done,
                "seconds": round(time.monotonic() - started, 1),
                **proc_status(server.proc.pid),
                **server_metrics(server),
                **maps(),
            }
            samples.append(sample)
            if wave % args.report_every == 0:
                if census is not None:
                    census.take(server, done)
                latencies += recent
                print(
                    f"{done:10d}  {sample['seconds'] / 60:7.1f}  {sample['rss_mb']:6.0f}"
                    f"  {sample['threads']:7d}  {sample['fds']:3d}  {sample['sockets']:7d}"
                    f"  {sample['tasks']:5.0f}  {pct(recent, 0.5):12.0f} / {pct(recent, 0.95):.0f} ms"
                    f"  {sum(errors.values())}",
                    flush=True,
                )
                recent = []
        latencies += recent
    finally:
        server.stop()

    with args.csv.open("w", newline="") as f:
        mapped = [f"map_{k}" for k in MAP_CLASSES] if args.maps else []
        writer = csv.DictWriter(
            f, fieldnames=["interviews", "seconds", *FIELDS, "recycled", *mapped]
        )
        writer.writeheader()
        for s in samples:
            writer.writerow({k: s.get(k, 0) for k in writer.fieldnames})
    after = [s for s in samples if s["interviews"] >= args.warmup]
    print(
        f"\n{done} interviews in {(time.monotonic() - started) / 60:.1f} min, "
        f"{args.concurrent} at a time; last frame to turn.committed p50 "
        f"{pct(latencies, 0.5):.0f} ms, p95 {pct(latencies, 0.95):.0f} ms; "
        f"errors: {errors or 'none'}"
    )
    if len(after) < 2:
        print(f"too few interviews after the warm-up ({args.warmup}) to tell growth")
        return
    xs = [s["interviews"] for s in after]
    print(f"after the warm-up ({after[0]['interviews']} interviews) to the end ({xs[-1]}):")
    for name in FIELDS:
        ys = [s[name] for s in after]
        unit = " MB" if name == "rss_mb" else ""
        print(
            f"  {name:8s} {after[0][name]:8.1f} -> {ys[-1]:8.1f}{unit}   min {min(ys):.1f}"
            f"  max {max(ys):.1f}   growth {slope(xs, ys):+.4f}{unit} per interview"
        )
    if args.maps:
        print("  by mapping (MB):")
        for name in (f"map_{k}" for k in MAP_CLASSES):
            ys = [s[name] for s in after]
            print(
                f"    {name[4:]:6s} {ys[0]:8.1f} -> {ys[-1]:8.1f}   min {min(ys):.1f}"
                f"  max {max(ys):.1f}   growth {slope(xs, ys):+.4f} MB per interview"
            )
    recycle_report(samples)
    if census is not None:
        census.report(args.warmup)
    plot(samples, args.warmup, args.plot)
    print(f"samples: {args.csv}; plot: {args.plot}")


if __name__ == "__main__":
    asyncio.run(main())
