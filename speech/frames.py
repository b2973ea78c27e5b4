"""Typed frames of the speech stages (after pipecat's frames).

Audio comes in as AudioChunk; a recogniser emits Voice (voiced seconds, when
asked), Partial and Final. The live session's own frames (a committed Turn)
are in live/frames.py.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Word:
    word: str
    start: float
    end: float
    conf: float

    def as_dict(self) -> dict[str, float | str]:
        return {"word": self.word, "start": self.start, "end": self.end, "conf": self.conf}


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """PCM s16le mono at `sample_rate`; `t0_s` is its start in stream time."""

    pcm: bytes
    sample_rate: int
    t0_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


@dataclass(frozen=True, slots=True)
class Voice:
    """Seconds of voiced sound in one accepted chunk (speech.vad)."""

    voiced_s: float


@dataclass(frozen=True, slots=True)
class Partial:
    text: str


@dataclass(frozen=True, slots=True)
class Final:
    text: str
    start_s: float
    end_s: float
    words: tuple[Word, ...] = ()

    @property
    def mean_conf(self) -> float:
        return sum(w.conf for w in self.words) / len(self.words) if self.words else 0.0
