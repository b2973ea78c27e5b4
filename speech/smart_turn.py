"""Smart Turn v3.2 (ONNX, BSD-2, pipecat-ai) with onnxruntime and numpy: P(turn complete).

The model reads Whisper-style log-mel features of the last 8 s of 16 kHz
audio (shorter audio is padded with silence at the front), as pipecat's
LocalSmartTurnAnalyzerV3 feeds it. The features are those of transformers'
WhisperFeatureExtractor(chunk_length=8) with do_normalize=True, here in
numpy alone (no torch, no transformers): the waveform scaled to zero mean and
unit variance, a centred (reflect-padded) periodic-Hann STFT of 400 samples
every 160, power, 80 Slaney mel filters (0-8 kHz, Slaney area norm), log10
floored at 1e-10, the last frame dropped, clipped to 8 below the maximum,
then (x + 4) / 4. tests/speech/test_turn_models.py checks them against
reference values computed with transformers 5.x. Cost here: about 70 ms per call on
one thread (docs/speech.md).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from django.conf import settings

from .silero import session_options
from .turn_models import SMART_TURN, model_path

SAMPLE_RATE = 16000
WINDOW_S = 8
N_SAMPLES = SAMPLE_RATE * WINDOW_S
N_FFT = 400
HOP = 160
N_MELS = 80
MEL_FLOOR = 1e-10
NORM_EPS = 1e-7


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = 3.0 * hz / 200.0
    logarithmic = 15.0 + np.log(np.maximum(hz, 1e-12) / 1000.0) * (27.0 / np.log(6.4))
    return np.where(hz >= 1000.0, logarithmic, linear)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = 200.0 * mel / 3.0
    logarithmic = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, logarithmic, linear)


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """(201 frequency bins, 80 mels): triangular filters, Slaney area-normalised."""
    bins = np.linspace(0, SAMPLE_RATE // 2, N_FFT // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    slopes = edges[None, :] - bins[:, None]
    widths = np.diff(edges)
    rising = -slopes[:, :-2] / widths[:-1]
    falling = slopes[:, 2:] / widths[1:]
    filters = np.maximum(0.0, np.minimum(rising, falling))
    return filters * (2.0 / (edges[2:] - edges[:-2]))[None, :]


@lru_cache(maxsize=1)
def hann() -> np.ndarray:
    """Periodic Hann window (torch.hann_window's, transformers' "hann")."""
    return np.hanning(N_FFT + 1)[:-1]


def last_window(samples: np.ndarray) -> np.ndarray:
    """The last 8 s, padded with silence at the front to exactly 8 s."""
    samples = np.asarray(samples, dtype=np.float32)[-N_SAMPLES:]
    return np.pad(samples, (N_SAMPLES - len(samples), 0))


def features(samples: np.ndarray) -> np.ndarray:
    """(80, 800) float32 log-mel features of exactly 8 s of 16 kHz audio."""
    x = np.asarray(samples, dtype=np.float32)
    if x.shape != (N_SAMPLES,):
        raise ValueError(f"expected {N_SAMPLES} samples, got {x.shape}")
    x = (x - x.mean()) / np.sqrt(x.var() + NORM_EPS)
    padded = np.pad(x.astype(np.float64), N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * hann(), axis=-1)) ** 2  # (801, 201)
    log_mel = np.log10(np.maximum(MEL_FLOOR, mel_filters().T @ power.T))[:, :-1]
    log_mel = np.maximum(log_mel, log_mel.max() - 8.0)
    return ((log_mel + 4.0) / 4.0).astype(np.float32)


@lru_cache(maxsize=1)
def _session(path: str, threads: int):
    import onnxruntime

    return onnxruntime.InferenceSession(
        path, sess_options=session_options(threads), providers=["CPUExecutionProvider"]
    )


def load_session():
    return _session(str(model_path(SMART_TURN)), settings.RT.turn_model_threads)


class SmartTurn:
    """P(the speaker has finished their turn) from the turn's audio."""

    def __init__(self, session=None) -> None:
        self.session = session or load_session()

    def probability(self, samples: np.ndarray) -> float:
        """`samples`: the turn's 16 kHz mono audio as floats in [-1, 1] (its last 8 s count)."""
        batch = features(last_window(samples))[None, :, :]
        (out,) = self.session.run(None, {"input_features": batch})
        return float(out[0, 0])  # the graph ends in a sigmoid

    def probability_pcm(self, pcm: bytes) -> float:
        """The same for s16le PCM."""
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32)
        return self.probability(samples / 32768.0)
