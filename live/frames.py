"""Typed frames of the live session: what turn taking hands the AI turn loop."""

from __future__ import annotations

from dataclasses import dataclass

from speech.frames import Final, Word


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
