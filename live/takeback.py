"""Take-back: an answer that silence ended goes on when the candidate speaks again soon.

The silence rule may end an answer during a long pause. If the candidate
speaks again within ``settings.RT.turn_takeback_grace_s`` of audio time after
that commit, before the browser reports with `ai.spoken` that it finished
speaking the reply, the answer is reopened: the reply is taken back
(`ai.cancelled`, kept with `retracted`), the new speech joins the same answer
(one row, one recording), and the interviewer's plan state is as if the reply
had never been given. Only answers silence ended are reopened: never one ended
by `turn.end`, a typed answer or `interview.end`, and not once one of those
came after it.

The decision (`TakeBack`) runs in the session's input task, in order with the
audio and the control frames; the AI task, which runs one job at a time, fills
in what happened to the answer's reply (`Answer`) and takes it back. The
session (live/session.py) wires the two.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .frames import EndedBy, Turn


class Outcome(enum.Enum):
    ANSWERED = "answered"  # replied to (or its job has not run yet)
    SKIPPED = "skipped"  # reopened before its reply started: never replied to
    RETRACTED = "retracted"  # reopened: its reply was taken back
    REFUSED = "refused"  # reopened too late: the reply stays (spoken, closing, session over)


@dataclass(eq=False)
class Answer:
    """A committed answer as the input and AI tasks share it."""

    turn: Turn
    committed_at_s: float  # stream time of the commit
    started: bool = False  # the AI task began its reply
    outcome: Outcome = Outcome.ANSWERED
    # Filled in by the AI task once its reply is saved:
    student_id: int | None = None
    reply_id: int | None = None
    state_before: dict | None = None  # the plan state before the reply
    used_suggestion: str | None = None
    closed: bool = False  # the reply closed the interview
    # The start of `turn` (finals, PCM bytes) that belongs to an earlier row
    # (an answer whose reply stayed), set by the AI task: not part of this answer.
    dropped: tuple[int, int] = (0, 0)
    # `ai.spoken` ids heard before the candidate resumed: the reply was spoken if among them.
    spoken: frozenset[int] = frozenset()

    def spoken_already(self) -> bool:
        return self.reply_id is not None and self.reply_id in self.spoken


@dataclass(frozen=True)
class Continuation:
    """The turn in progress goes on from `answer`: its first `finals` finals and
    `pcm_bytes` bytes of audio are the earlier part."""

    answer: Answer
    finals: int
    pcm_bytes: int


def own_part(
    turn: Turn, continuing: Continuation | None
) -> tuple[Turn | None, int | None, tuple[int, int]]:
    """What the AI task commits of `turn` once the answer it went on from is
    settled: the turn (None: nothing of its own), the student row it continues
    (None: a new answer), and the start of `turn` left out (`Answer.dropped`)."""
    dropped = dropped_by(continuing)
    continues = None
    if continuing is not None and _taken_back(continuing.answer):
        continues = continuing.answer.student_id
    return without(turn, *dropped), continues, dropped


def dropped_by(continuing: Continuation | None) -> tuple[int, int]:
    """The start of a continued turn (finals, PCM bytes) that is not its answer's:
    all of the earlier answer when its reply stayed, else what it left out itself."""
    if continuing is None:
        return (0, 0)
    prior = continuing.answer
    if not _taken_back(prior):
        return (continuing.finals, continuing.pcm_bytes)
    # The earlier audio is in front only when the recorder put it there.
    return (prior.dropped[0], prior.dropped[1] if continuing.pcm_bytes else 0)


def _taken_back(answer: Answer) -> bool:
    # ANSWERED here means its take-back failed: the reply stays, as when refused.
    return answer.outcome in (Outcome.RETRACTED, Outcome.SKIPPED)


def without(turn: Turn, finals: int, pcm_bytes: int) -> Turn | None:
    """`turn` less its first `finals` finals and `pcm_bytes` bytes of audio
    (a typed part at its end stays); None when nothing is left."""
    if not finals and not pcm_bytes:
        return turn
    earlier = " ".join(f.text.strip() for f in turn.finals[:finals] if f.text.strip())
    later = turn.finals[finals:]
    if turn.text.startswith(earlier):
        text = turn.text[len(earlier) :].strip()
    else:
        text = " ".join(f.text.strip() for f in later if f.text.strip())
    if not text:
        return None
    return Turn(
        text=text,
        finals=later,
        ended_by=turn.ended_by,
        audio_pcm=turn.audio_pcm[pcm_bytes:],
        sample_rate=turn.sample_rate,
        stt_final_ms=turn.stt_final_ms,
    )


@dataclass
class TakeBack:
    """Which answer the candidate's resumed speech would reopen, if any."""

    grace_s: float
    target: Answer | None = None
    spoken: set[int] = field(default_factory=set)

    def committed(self, answer: Answer) -> None:
        """An answer was committed: one silence ended may be reopened."""
        self.spoken = set()
        reopenable = answer.turn.ended_by is EndedBy.SILENCE and self.grace_s > 0
        self.target = answer if reopenable else None

    def ended(self) -> None:
        """`turn.end`, a typed answer or `interview.end`: no take-back."""
        self.target = None

    def ai_spoken(self, conversation_id: int) -> None:
        """The browser finished speaking a reply: its answer stays answered."""
        self.spoken.add(conversation_id)
        if self.target is not None and self.target.reply_id == conversation_id:
            self.target = None

    def resumed(self, at_s: float, within_s: float | None = None) -> Answer | None:
        """Speech resumed (stream time `at_s`): the answer it reopens, if any.
        Asked once per turn; the target is gone either way. `within_s`: a
        shorter window than the grace (a `turn.hold`)."""
        answer, self.target = self.target, None
        window_s = self.grace_s if within_s is None else min(self.grace_s, within_s)
        if answer is None or at_s - answer.committed_at_s > window_s + 1e-6:
            return None
        answer.spoken = frozenset(self.spoken)
        if answer.spoken_already():
            return None
        return answer
