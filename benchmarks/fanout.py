"""One interview's events fanned out to many observers on a second daphne process.

    .venv/bin/python benchmarks/fanout.py                      # 1, 10, 100, 200 observers
    .venv/bin/python benchmarks/fanout.py --observers 100 --repeat 3
    .venv/bin/python benchmarks/fanout.py --observers 100 --profile   # cProfile of process B

Two daphne processes share one SQLite file and channels-redis on the local
Redis (127.0.0.1:6379, database 12 unless --redis names another; the group
and channel keys carry the session's UUID and each process's random prefix,
so a run collides with nothing). Process A has the candidate's socket: the
scripted interviewer greets, then five typed answers, each waiting for the
AI's reply. Process B has N observer sockets of the same session, spread
over client worker processes so the harness does not dominate.

Per N it prints:

- delivery delay of persisted events (arrival time in the observer's client
  minus the event's `ts`, which the server stamps when it persists the
  event): p50, p95 and max over every observer and event;
- events expected (a `resume` from seq 0 after the interview, from the
  database) against received live by each observer: the fewest and most any
  observer got, the number of observers that missed one, and duplicates;
- the harness's own delay beside it: how late each client worker's event
  loop runs a 5 ms timer while it reads its sockets (p95 and max over the
  run): a frame that has arrived waits about that long before the client
  reads it, so delivery delays near this figure are the harness's, not the
  server's;
- CPU seconds of each daphne process during the interview, and of the
  client processes together (on a small machine they compete with B).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402

from benchmarks.streams import Server, cpu_s, pct  # noqa: E402
from tests.browser.server import free_port  # noqa: E402

ANSWERS = [
    "I build real-time systems in Python and enjoy making them fast.",
    "Last year I led a small team that moved our audio pipeline to streaming.",
    "I measure first, then change one thing at a time.",
    "A colleague disagreed with my design; we wrote both down and tested them.",
    "I would like to work on speech and interviews at scale.",
]
TICK_S = 0.005  # the harness's loop-lag probe
DRAIN_S = 15.0  # an observer that hears nothing this long after the interview stops


def parse_ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# --- the servers ----------------------------------------------------------------


class Pair:
    """Process A (Server from streams.py: migrates, seeds, serves) and process
    B: a second daphne on the same database and Redis."""

    def __init__(self, sessions: int, redis_url: str, profile: bool) -> None:
        os.environ["REDIS_URL"] = redis_url  # Server copies os.environ
        self.a = Server(sessions=sessions)
        self.b_port = free_port()
        env = {**self.a.env, "RT_PUBLIC_BASE_URL": f"http://127.0.0.1:{self.b_port}"}
        self.profile_path = self.a.dir / "b.prof"
        daphne = [str(ROOT / ".venv" / "bin" / "daphne")]
        if profile:
            daphne = [sys.executable, "-m", "cProfile", "-o", str(self.profile_path), *daphne]
        self.b = subprocess.Popen(
            [*daphne, "-b", "127.0.0.1", "-p", str(self.b_port), "interview_rt.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(self.a.dir / "daphne-b.log").open("wb"),
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.b_port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("daphne B did not start; see " + str(self.a.dir / "daphne-b.log"))

    def cpu(self) -> tuple[float, float, float]:
        """CPU seconds of A, of B, and B's in the kernel (socket writes, polls)."""
        fields = Path(f"/proc/{self.b.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (
            cpu_s(Path(f"/proc/{self.a.proc.pid}/stat")),
            cpu_s(Path(f"/proc/{self.b.pid}/stat")),
            int(fields[12]) / os.sysconf("SC_CLK_TCK"),
        )

    def stop(self) -> None:
        self.a.stop()
        self.b.terminate()
        self.b.wait(30)


# --- observers (client worker processes) -----------------------------------------


async def loop_lag(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(TICK_S)
        lags.append((time.perf_counter() - start - TICK_S) * 1000)


async def observe(url: str, origin: str, want: int, ready, go, last: asyncio.Future) -> dict:
    """One observer: record (seq, delay ms) of persisted events until it has
    the last one (`last`, known after the interview) or hears nothing for
    DRAIN_S."""
    got: list[tuple[int, float]] = []
    async with websockets.connect(url, origin=origin, max_size=None) as ws:
        # Ready once the server counts every observer (its presence event).
        seen_all = False
        while not seen_all:
            event = json.loads(await asyncio.wait_for(ws.recv(), 120))
            seen_all = event["type"] == "presence" and event["observers"] >= want
        ready()
        await go.wait()
        quiet_since, top = time.monotonic(), 0
        while not (last.done() and top >= last.result()):
            if last.done() and time.monotonic() - quiet_since > DRAIN_S:
                break
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.2)
            except TimeoutError:
                continue
            arrived = time.time()
            quiet_since = time.monotonic()
            event = json.loads(raw)
            if "seq" in event:
                got.append((event["seq"], (arrived - parse_ts(event["ts"])) * 1000))
                top = max(top, event["seq"])
    return {"got": got}


def worker(urls: list[str], origin: str, want: int, conn) -> None:
    """A client process: its share of the observers, reporting over `conn`."""

    async def main() -> dict:
        go, stop = asyncio.Event(), asyncio.Event()
        ready_count = 0

        def ready() -> None:
            nonlocal ready_count
            ready_count += 1
            if ready_count == len(urls):
                conn.send("ready")

        loop = asyncio.get_running_loop()
        last = loop.create_future()
        tasks = [asyncio.create_task(observe(u, origin, want, ready, go, last)) for u in urls]
        await loop.run_in_executor(None, conn.recv)  # "go"
        lags: list[float] = []
        probe = asyncio.create_task(loop_lag(lags, stop))
        cpu0 = time.process_time()
        go.set()
        last.set_result(await loop.run_in_executor(None, conn.recv))  # the last seq
        results = await asyncio.gather(*tasks)
        stop.set()
        await probe
        cpu = time.process_time() - cpu0
        return {"observers": [r["got"] for r in results], "lags": lags, "cpu": cpu}

    conn.send(asyncio.run(main()))


# --- the candidate ------------------------------------------------------------------


async def until(ws, kind: str, wait: float = 60) -> dict:
    deadline = time.monotonic() + wait
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if event["type"] in (kind, "interview.ended"):
            return event


async def interview(base: str, sid: str, token: str) -> None:
    origin = base.replace("ws://", "http://")
    async with websockets.connect(f"{base}/ws/interview/{sid}/?token={token}", origin=origin) as ws:
        await ws.send(json.dumps({"type": "interview.start"}))
        if (await until(ws, "ai.message"))["type"] == "interview.ended":
            return
        for answer in ANSWERS:
            await ws.send(json.dumps({"type": "answer.text", "text": answer}))
            if (await until(ws, "ai.message"))["type"] == "interview.ended":
                return


async def persisted_seqs(base: str, sid: str, token: str) -> list[int]:
    """Every persisted event an observer may see, from the database (`resume`)."""
    origin = base.replace("ws://", "http://")
    async with websockets.connect(f"{base}/ws/observe/{sid}/?token={token}", origin=origin) as ws:
        await ws.send(json.dumps({"type": "resume", "after_seq": 0}))
        await ws.send(json.dumps({"type": "ping"}))
        seqs = []
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if event["type"] == "pong":
                return seqs
            if "seq" in event:
                seqs.append(event["seq"])


# --- one audience size ------------------------------------------------------------------


def run_level(pair: Pair, n: int, workers: int) -> dict:
    sid, join_token = pair.a.take_sessions(1)[0]
    staff = pair.a.data["staff"]
    b_base = f"ws://127.0.0.1:{pair.b_port}"
    a_base = f"ws://127.0.0.1:{pair.a.port}"
    url = f"{b_base}/ws/observe/{sid}/?token={staff}"
    shares = [list(range(n))[i::workers] for i in range(min(workers, n))]
    ctx = multiprocessing.get_context("spawn")
    pipes, procs = [], []
    for share in shares:
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(
            target=worker, args=([url] * len(share), b_base.replace("ws://", "http://"), n, theirs)
        )
        proc.start()
        pipes.append(mine)
        procs.append(proc)
    for pipe in pipes:
        if not pipe.poll(180):
            raise RuntimeError("observers did not connect within 180 s")
        pipe.recv()
    before = asyncio.run(persisted_seqs(b_base, sid, staff))
    for pipe in pipes:
        pipe.send("go")
    time.sleep(0.5)  # the probes start
    cpu0 = pair.cpu()
    started = time.perf_counter()
    asyncio.run(interview(a_base, sid, join_token))
    took = time.perf_counter() - started
    expected = set(asyncio.run(persisted_seqs(b_base, sid, staff))) - set(before)
    for pipe in pipes:
        pipe.send(max(expected))
    reports = [pipe.recv() for pipe in pipes]
    cpu1 = pair.cpu()
    for proc in procs:
        proc.join(30)
    delays, lags, counts, short, dupes, client_cpu = [], [], [], 0, 0, 0.0
    for report in reports:
        lags.extend(report["lags"])
        client_cpu += report["cpu"]
        for got in report["observers"]:
            seqs = [seq for seq, _ in got if seq in expected]
            delays.extend(delay for seq, delay in got if seq in expected)
            counts.append(len(set(seqs)))
            dupes += len(seqs) - len(set(seqs))
            short += len(set(seqs)) < len(expected)
    return {
        "n": n,
        "p50": pct(delays, 0.5),
        "p95": pct(delays, 0.95),
        "max": max(delays, default=float("nan")),
        "expected": len(expected),
        "least": min(counts),
        "most": max(counts),
        "short": short,
        "dupes": dupes,
        "lag95": pct(lags, 0.95),
        "lagmax": max(lags, default=float("nan")),
        "cpu_a": cpu1[0] - cpu0[0],
        "cpu_b": cpu1[1] - cpu0[1],
        "sys_b": cpu1[2] - cpu0[2],
        "wall": took,
        "client_cpu": client_cpu,
    }


HEADER = (
    "  N  delay p50    p95    max   events expected  received (least-most)  observers short"
    "  duplicates  harness lag p95/max  CPU A  CPU B (kernel)  CPU clients  interview"
)


def print_row(r: dict) -> None:
    print(
        f"{r['n']:3d}  {r['p50']:7.1f} {r['p95']:6.1f} {r['max']:6.0f} ms  {r['expected']:15d}"
        f"  {r['least']:10d}-{r['most']:<10d}  {r['short']:15d}  {r['dupes']:10d}"
        f"  {r['lag95']:8.1f}/{r['lagmax']:.0f} ms     {r['cpu_a']:5.2f}  {r['cpu_b']:5.2f} ({r['sys_b']:.2f})  {r['client_cpu']:11.2f}"
        f"  {r['wall']:6.1f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--observers", default="1,10,100,200")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--profile", action="store_true", help="cProfile process B")
    args = parser.parse_args()
    levels = [int(x) for x in args.observers.split(",")]
    pair = Pair(sessions=len(levels) * args.repeat + 1, redis_url=args.redis, profile=args.profile)
    try:
        run_level(pair, 1, 1)  # warm-up, not printed: imports, first queries
        print(HEADER)
        for n in levels:
            for _ in range(args.repeat):
                print_row(run_level(pair, n, args.workers))
    finally:
        pair.stop()
    if args.profile:
        import pstats

        stats = pstats.Stats(str(pair.profile_path))
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
