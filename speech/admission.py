"""Admission control: how many live speech streams this process decodes at once."""

from __future__ import annotations

import threading

from interview_rt import metrics
from interviews.exceptions import ServerBusy


class Admission:
    """Counts open SpeechStreams in this process against settings.RT.stt_max_streams."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = 0

    def acquire(self, limit: int) -> None:
        """Admit one more stream, or ServerBusy when `limit` are open."""
        with self._lock:
            if self._open >= limit:
                metrics.server_busy()
                raise ServerBusy(
                    f"The server is transcribing {self._open} live audio streams, its limit "
                    "(RT_STT_MAX_STREAMS); try again shortly."
                )
            self._open += 1

    def release(self) -> None:
        with self._lock:
            self._open = max(0, self._open - 1)

    @property
    def open_streams(self) -> int:
        return self._open


admission = Admission()
