"""Silero VAD (v6, ONNX) with onnxruntime alone: P(speech) per 32 ms frame.

The model reads 512 new samples of 16 kHz audio at a time, preceded by the
last 64 samples of the previous frame (its context), and carries a recurrent
state (2 x 1 x 128) from frame to frame, as silero-vad's own OnnxWrapper
does. One `SileroVad` follows one stream; audio arrives in chunks of any
size (the browser sends 100 ms) and the remainder waits for the next chunk.
Cost here: about 0.1 ms per frame on one thread (docs/speech.md).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from django.conf import settings

from .turn_models import SILERO_VAD, model_path

SAMPLE_RATE = 16000
FRAME_SAMPLES = 512  # 32 ms
CONTEXT_SAMPLES = 64
FRAME_S = FRAME_SAMPLES / SAMPLE_RATE


def session_options(threads: int):
    """Single-threaded by default: the cores are the decoders' (RT_TURN_MODEL_THREADS)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    return options


@lru_cache(maxsize=1)
def _session(path: str, threads: int):
    """One inference session per process (thread-safe to run; the state is the caller's)."""
    import onnxruntime

    return onnxruntime.InferenceSession(
        path, sess_options=session_options(threads), providers=["CPUExecutionProvider"]
    )


def load_session():
    return _session(str(model_path(SILERO_VAD)), settings.RT.turn_model_threads)


class SileroVad:
    """Speech probabilities of one 16 kHz mono stream, frame by frame."""

    def __init__(self, session=None) -> None:
        self.session = session or load_session()
        self.reset()

    def reset(self) -> None:
        self.state = np.zeros((2, 1, 128), dtype=np.float32)
        self.context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)
        self.pending = np.zeros(0, dtype=np.float32)

    def frame(self, samples: np.ndarray) -> float:
        """P(speech) of exactly 512 float samples in [-1, 1]."""
        window = np.concatenate([self.context, samples.astype(np.float32)])[None, :]
        out, self.state = self.session.run(
            None,
            {"input": window, "state": self.state, "sr": np.array(SAMPLE_RATE, dtype=np.int64)},
        )
        self.context = window[0, -CONTEXT_SAMPLES:]
        return float(out[0, 0])

    def accept(self, pcm: bytes) -> list[float]:
        """P(speech) of each whole frame completed by this s16le chunk."""
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32) / 32768
        buffered = np.concatenate([self.pending, samples])
        count = len(buffered) // FRAME_SAMPLES
        probabilities = [
            self.frame(buffered[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]) for i in range(count)
        ]
        self.pending = buffered[count * FRAME_SAMPLES :]
        return probabilities


def voiced_seconds(probabilities: list[float], threshold: float | None = None) -> float:
    """Seconds of the frames at or above the speech threshold (RT_TURN_VAD_THRESHOLD)."""
    limit = settings.RT.turn_vad_threshold if threshold is None else threshold
    return sum(FRAME_S for p in probabilities if p >= limit)
