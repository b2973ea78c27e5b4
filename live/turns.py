"""Turn taking: when is the candidate's answer finished? The whole rule is here.

A turn ends on `turn.end`, on a typed `answer.text`, or after
``settings.RT.turn_silence_s`` of *audio* time (not wall time, so a slow
network or a busy decoder cannot cut an answer short) after the last
recognised word or voiced sound. `turn.hold` suspends the silence rule until
speech resumes. Recognised words are shown and kept only once the turn has
voiced audio (noise makes the recogniser emit words too); a turn with no
voiced audio or no words is dropped: it never reaches the interviewer.

The session feeds what happened (`Heard`, `Held`, `Flushed`) to
`TurnTaker.feed` and acts on the `Decision` it gets back; `take` closes the
turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from speech.frames import Final, Partial

from .frames import EndedBy, Turn

# Voiced audio a spoken turn needs before it counts (seconds).
MIN_VOICED_S = 0.15


@dataclass(frozen=True, slots=True)
class Heard:
    """One decoded chunk: it ended at stream time `end_s`, held `voiced_s` of
    voiced sound, and the recogniser said `results`; its latest word so far
    ends at `last_word_end_s` (partials included)."""

    end_s: float
    voiced_s: float
    results: tuple[Partial | Final, ...] = ()
    last_word_end_s: float | None = None


@dataclass(frozen=True, slots=True)
class Held:
    """`turn.hold` at stream time `at_s`."""

    at_s: float


@dataclass(frozen=True, slots=True)
class Flushed:
    """The recogniser's last result for a turn being ended (None: nothing)."""

    final: Final | None


@dataclass(frozen=True, slots=True)
class Decision:
    show: tuple[Partial | Final, ...] = ()  # results clients may see, in order
    end_turn: bool = False  # the silence rule has ended the turn


@dataclass
class TurnTaker:
    silence_s: float
    finals: list[Final] = field(default_factory=list)
    voiced_s: float = 0.0
    has_words: bool = False  # anything recognised (partial or final) in this turn
    held_at_s: float | None = None  # audio time of the last turn.hold
    last_speech_s: float | None = None  # audio time of the last recognised word
    # Recognised words lag the audio (a hypothesis can sit on one word for
    # seconds), so voiced audio also counts as speech for the silence rule.
    last_voiced_s: float | None = None
    # Words ending at or before this belong to an earlier turn (stream time runs on).
    floor_s: float = -1.0
    # Goes on from an answer already taken as speech (take-back), which it keeps
    # whole even if nothing voiced follows (a `turn.hold`, then `turn.end`).
    reopened: bool = False

    def feed(self, event: Heard | Held | Flushed) -> Decision:
        """What the session heard; returns what to show and whether the turn ended."""
        if isinstance(event, Held):
            self.held_at_s = event.at_s
            return Decision()
        if isinstance(event, Flushed):
            return Decision(show=self._admit((event.final,) if event.final else ()))
        if event.voiced_s > 0:
            self.last_voiced_s = event.end_s
            if self.held_at_s is not None and event.end_s > self.held_at_s:
                self.held_at_s = None  # speech resumed after turn.hold
        self.voiced_s += event.voiced_s
        show = self._admit(event.results)
        self._heard_words(event.last_word_end_s)
        return Decision(show=show, end_turn=self._silence_elapsed(event.end_s))

    @property
    def voiced(self) -> bool:
        """This turn has voiced sound enough to count as speech (take-back asks)."""
        return self.voiced_s >= MIN_VOICED_S

    def reopen(self, earlier: Turn) -> None:
        """This turn goes on from `earlier`, an answer taken back (take-back):
        its words come first, so the answer is taken whole."""
        self.finals[:0] = earlier.finals
        self.reopened = True

    @property
    def heard(self) -> bool:
        """Anything recognised in this turn (for the log when it is dropped)."""
        return self.has_words or bool(self.finals)

    def take(self, ended_by: EndedBy, stt_final_ms: float | None = None) -> Turn | None:
        """The finished turn (None for noise or nothing), and a clean slate."""
        turn = None
        if self.finals and (self.voiced_s >= MIN_VOICED_S or self.reopened):
            turn = Turn(
                text=" ".join(f.text.strip() for f in self.finals if f.text.strip()),
                finals=tuple(self.finals),
                ended_by=ended_by,
                stt_final_ms=stt_final_ms,
            )
        if self.last_speech_s is not None:
            self.floor_s = max(self.floor_s, self.last_speech_s)
        self.finals.clear()
        self.voiced_s = 0.0
        self.has_words = False
        self.held_at_s = None
        self.reopened = False
        self.last_speech_s = None
        self.last_voiced_s = None
        return turn

    def _admit(self, results: tuple[Partial | Final, ...]) -> tuple[Partial | Final, ...]:
        if self.voiced_s < MIN_VOICED_S:
            return ()  # nothing voiced yet in this turn: noise, not speech
        shown: list[Partial | Final] = []
        for result in results:
            if isinstance(result, Partial):
                shown.append(result)
            elif result.text.strip():
                self.finals.append(result)
                self._heard_words(result.end_s)
                shown.append(result)
        return tuple(shown)

    def _heard_words(self, last_word_end_s: float | None) -> None:
        if last_word_end_s is None or last_word_end_s <= self.floor_s:
            return
        if self.last_speech_s is None or last_word_end_s > self.last_speech_s:
            self.last_speech_s = last_word_end_s
            self.has_words = True
            if self.held_at_s is not None and last_word_end_s > self.held_at_s:
                self.held_at_s = None  # speech resumed: the silence rule is back

    def _silence_elapsed(self, audio_time_s: float) -> bool:
        # Short answers may get no partial words before the recogniser is
        # flushed, so voiced audio alone also opens a turn for the silence rule.
        heard = self.has_words or self.voiced_s >= MIN_VOICED_S
        if self.held_at_s is not None or not heard:
            return False
        last_sound = max(self.last_speech_s or 0.0, self.last_voiced_s or 0.0)
        return audio_time_s - last_sound >= self.silence_s - 1e-6  # float sums of chunk times
