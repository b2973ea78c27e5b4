"""Typed frames of the speech stages (after pipecat's frames).

Audio comes in as AudioChunk; a recogniser emits Voice (voiced seconds, when
asked), Partial and Final (with Alternative transcripts when asked for). The
live session's own frames (a committed Turn) are in live/frames.py.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word; times are stream time (seconds). `conf` is the
    engine's confidence in the word (0..1), or None when the engine scores
    only whole transcripts (Vosk's alternatives)."""

    word: str
    start: float
    end: float
    conf: float | None = None

    def as_dict(self) -> dict[str, float | str]:
        if self.conf is None:
            return {"word": self.word, "start": self.start, "end": self.end}
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
    """The hypothesis for the utterance in progress. `end_s`: stream time at
    which its last word ends (None: no word yet, or the engine does not say)."""

    text: str
    end_s: float | None = None


@dataclass(frozen=True, slots=True)
class Alternative:
    """One of the n best transcripts of an utterance (StreamOptions.max_alternatives).
    `confidence` is the engine's score, best first; for Vosk, the path's
    log-likelihood (larger is better; not 0..1)."""

    text: str
    confidence: float
    words: tuple[Word, ...] = ()


@dataclass(frozen=True, slots=True)
class Final:
    """An ended utterance. With alternatives asked for, `alternatives` holds
    them best first and `text`/`words` are the best one's."""

    text: str
    start_s: float
    end_s: float
    words: tuple[Word, ...] = ()
    alternatives: tuple[Alternative, ...] = ()

    @property
    def mean_conf(self) -> float:
        scored = [w.conf for w in self.words if w.conf is not None]
        return sum(scored) / len(scored) if scored else 0.0
