"""How hard the decoders work: measured in the decode path, over a window.

SpeechStream reports every decode call here (speech/stream.py): the audio
seconds it decoded, the wall and CPU seconds the recogniser took, and, for
the end of a turn, how long the candidate waited for the final (the queue
ahead of it plus the flush). From these, over the last
settings.RT.stt_load_window_s:

- `cost`: decoder wall seconds per audio second of one speaking stream (the
  real-time factor). Wall, not CPU: it includes the time the decoder thread
  waited for a core the event loop or another process held, which is what
  a candidate waits for too. CPU seconds are kept alongside, for reports;
- `final_wait_s`: the 95th percentile of the wait for a turn's final;
- `flush_s`: the median time the final itself took in the recogniser;
- `process_cost`: the whole process's CPU seconds per audio second decoded
  (the global meter reads `time.process_time` at each decode): the event
  loop, the voice-activity and turn models, the database and the replies
  besides the decoders, which compete with them for the same cores (about a
  quarter more than the decoders' own cost at 16 live interviews on two
  cores: docs/speech.md, "Admission").

`predicted_final_s(n)` models the wait for a final with n streams all
speaking: the decoders are busy a share u = n × max(cost, process_cost) /
threads of the time;
the final waits for the round of frames ahead of it (u × one frame) and its
own flush, stretched by 1 / (1 − u) as queues grow near saturation (at u ≥ 1
the decoders fall behind real time and the wait has no bound).
docs/speech.md, "Admission", has the reasoning and the figures.
"""

from __future__ import annotations

import math
import os
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# Before anything is measured: a warm recogniser on this project's 2-core
# machine under load (docs/speech.md, "Figures": RTF 0.10-0.25 wall), and a
# final on a warm recogniser (FinalResult, a few tens of ms).
PRIOR_COST = 0.25
PRIOR_FLUSH_S = 0.05
# The live streams send 100 ms frames: a round of decoding is one frame each.
FRAME_S = 0.1
# Fewer audio seconds than this in the window: too few to trust, use the prior.
MIN_AUDIO_S = 5.0
MIN_FINALS = 3


@dataclass(frozen=True)
class Load:
    """A reading of the meter (what admission decides on, and what is reported)."""

    cost: float  # decoder wall seconds per audio second, one speaking stream
    cpu_cost: float  # decoder CPU seconds per audio second
    flush_s: float  # median time of a final in the recogniser
    final_wait_s: float  # p95 wait for a turn's final (queue + flush); 0 when none
    threads: int  # decoder threads that can run at once
    measured: bool  # False: the priors, nothing decoded in the window yet
    finals: int = 0  # turn finals in the window
    process_cost: float = 0.0  # the whole process's CPU s per audio s; 0 when not read

    def falling_behind(self, target_s: float) -> bool:
        """The decoders do not keep up now: finals already wait past the target
        (with a few finals in the window, so one slow first final does not count)."""
        return self.finals >= MIN_FINALS and self.final_wait_s > target_s

    def utilisation(self, streams: int) -> float:
        # The dearer of the decoders' wall time and all the process's CPU, per audio second.
        return streams * max(self.cost, self.process_cost) / self.threads

    def predicted_final_s(self, streams: int) -> float:
        """Predicted wait for a final with `streams` streams all speaking."""
        u = self.utilisation(streams)
        if u >= 1:
            return math.inf
        return (u * FRAME_S + self.flush_s) / (1 - u)

    def capacity(self, target_s: float, limit: int) -> int:
        """The most speaking streams whose finals stay within `target_s`, at most `limit`."""
        n = 0
        while n < limit and self.predicted_final_s(n + 1) <= target_s:
            n += 1
        return n


class LoadMeter:
    """Decode samples of this process over a sliding window (thread-safe)."""

    def __init__(
        self,
        window_s: float = 30.0,
        clock=time.monotonic,
        process_cpu: Callable[[], float] | None = None,
    ) -> None:
        """`process_cpu`: the process's CPU seconds so far (time.process_time),
        read at each decode; None leaves `process_cost` at 0 (a meter of the
        decoders alone)."""
        self.window_s = window_s
        self.clock = clock
        self.process_cpu = process_cpu
        self._lock = threading.Lock()
        # at, audio, wall, cpu, the process's CPU so far (0 without process_cpu)
        self._decodes: deque[tuple[float, float, float, float, float]] = deque()
        self._finals: deque[tuple[float, float, float]] = deque()  # at, wait, flush

    def decoded(self, audio_s: float, wall_s: float, cpu_s: float) -> None:
        """A decode call: `audio_s` of audio took `wall_s` (and `cpu_s` of CPU)."""
        process_cpu_s = self.process_cpu() if self.process_cpu is not None else 0.0
        with self._lock:
            self._decodes.append((self.clock(), audio_s, wall_s, cpu_s, process_cpu_s))

    def finished(self, wait_s: float, flush_s: float) -> None:
        """A turn's final: asked for `wait_s` ago, `flush_s` of it in the recogniser."""
        with self._lock:
            self._finals.append((self.clock(), wait_s, flush_s))

    def prime(self, audio_s: float, wall_s: float, cpu_s: float) -> None:
        """A measurement from before live streams (the warm-up decode): it
        replaces the prior until live decoding fills the window."""
        self.decoded(audio_s, wall_s, cpu_s)

    def reading(self, threads: int, window_s: float | None = None) -> Load:
        window = self.window_s if window_s is None else window_s
        since = self.clock() - window
        with self._lock:
            while self._decodes and self._decodes[0][0] < since:
                self._decodes.popleft()
            while self._finals and self._finals[0][0] < since:
                self._finals.popleft()
            decodes, finals = list(self._decodes), list(self._finals)
        audio = sum(d[1] for d in decodes)
        measured = audio >= MIN_AUDIO_S
        cost = sum(d[2] for d in decodes) / audio if measured else PRIOR_COST
        cpu_cost = sum(d[3] for d in decodes) / audio if measured else PRIOR_COST
        flush = statistics.median(f[2] for f in finals) if finals else PRIOR_FLUSH_S
        # The process's CPU between the window's first decode and its last, per
        # audio second decoded after the first.
        after_first = audio - decodes[0][1] if decodes else 0.0
        process_cost = (
            (decodes[-1][4] - decodes[0][4]) / after_first
            if self.process_cpu is not None and measured and after_first > 0
            else 0.0
        )
        waits = sorted(f[1] for f in finals)
        wait_p95 = waits[min(len(waits) - 1, round(0.95 * (len(waits) - 1)))] if waits else 0.0
        cores = max(1, min(threads, os.cpu_count() or threads))
        return Load(cost, cpu_cost, flush, wait_p95, cores, measured, len(finals), process_cost)

    def clear(self) -> None:
        with self._lock:
            self._decodes.clear()
            self._finals.clear()


meter = LoadMeter(process_cpu=time.process_time)
