"""Typed frames of the live session (after pipecat's frames).

The candidate's socket hands the session control frames (EndTurn, HoldTurn,
TypedAnswer, EndInterview, AiSpoken) in arrival order with the audio; turn taking hands
the AI turn loop a committed Turn.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from interviews.wire import ClientType
from speech.frames import Final, Word


class EndedBy(enum.StrEnum):
    """What ended a turn (stored in the answer's speech facts)."""

    SILENCE = "silence"  # the silence rule (live/turns.py)
    TURN_END = ClientType.TURN_END.value
    TEXT = "text"  # a typed answer
    INTERVIEW_END = ClientType.INTERVIEW_END.value
    UPLOAD = "upload"  # REST voice_to_text with a session


@dataclass(frozen=True, slots=True)
class Turn:
    """A finished answer: the text and the speech facts behind it."""

    text: str
    finals: tuple[Final, ...] = ()
    ended_by: EndedBy = EndedBy.TEXT
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


# --- control frames: the candidate's socket -> the session's input task --------


@dataclass(frozen=True, slots=True)
class EndTurn:
    """`turn.end`: the answer is finished."""

    received: float


@dataclass(frozen=True, slots=True)
class HoldTurn:
    """`turn.hold`: no silence ends this turn until speech resumes."""

    received: float


@dataclass(frozen=True, slots=True)
class TypedAnswer:
    """`answer.text`: a typed answer; it joins the spoken part and ends the turn."""

    text: str
    received: float


@dataclass(frozen=True, slots=True)
class EndInterview:
    """`interview.end`: keep the answer in progress, then close the interview."""

    received: float


@dataclass(frozen=True, slots=True)
class AiSpoken:
    """`ai.spoken`: the browser finished speaking this AI reply (take-back ends for it)."""

    conversation_id: int
    received: float


Control = EndTurn | HoldTurn | TypedAnswer | EndInterview | AiSpoken
