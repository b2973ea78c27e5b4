"""Typed frames the real-time stages hand each other (after pipecat's frames).

Audio comes in as AudioChunk, the recogniser emits Voice (voiced seconds, when
asked), Partial and Final, turn taking turns Finals into a committed Turn, and
the interviewer answers with ReplyDelta chunks and one Reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    """Seconds of voiced sound in one accepted chunk (pipeline.vad)."""

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


@dataclass(frozen=True, slots=True)
class Turn:
    """A finished answer: the text and the speech facts behind it."""

    text: str
    finals: tuple[Final, ...] = ()
    ended_by: str = "text"  # "silence" | "turn.end" | "text" | "interview.end"
    audio_pcm: bytes = b""
    sample_rate: int = 16000
    stt_final_ms: float | None = None

    @property
    def words(self) -> list[Word]:
        return [w for f in self.finals for w in f.words]

    @property
    def speech_s(self) -> float:
        return self.finals[-1].end_s - self.finals[0].start_s if self.finals else 0.0

    def speech_facts(self) -> dict:
        if not self.finals:
            return {}
        return {
            "start_s": self.finals[0].start_s,
            "end_s": self.finals[-1].end_s,
            "words": [w.as_dict() for w in self.words],
            "ended_by": self.ended_by,
        }


@dataclass(frozen=True, slots=True)
class ReplyDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    question_id: int | None
    conversation_id: int
    seq: int
    metrics: dict = field(default_factory=dict)
