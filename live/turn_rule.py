"""Turn-taking v2's rule: how long a silence ends this turn, from the evidence.

Live sessions use it when RT_TURN_RULE is "signals" (the default; the
wiring is live/listener.py; benchmarks/turns_quality.py measures it):
`TurnTaker` still ends a turn after `silence_s` of silence, and this rule only
sets that `silence_s` pause by pause, so `turn.hold`, `turn.end` and typed
answers keep their behaviour. The evidence:

- voice activity from Silero VAD (speech.silero) decides what is silence, so
  noise neither opens a turn nor keeps one open;
- Smart Turn v3.2 (speech.smart_turn) gives P(complete) once per pause, when
  the silence reaches RT_TURN_SMART_TURN_AFTER_S;
- the words so far (live.turn_signals.ending): sentence ending or mid-clause;
- the candidate's rhythm (live.turn_signals.rhythm_threshold_s) sets their
  threshold T from the pauses inside their earlier answers.

The completeness score c is the weighted mean of the signals that spoke
(Smart Turn's probability; the words' 1 for a sentence ending, 0 mid-clause;
0.5 when none spoke). The silence needed is T scaled from
RT_TURN_COMPLETE_FACTOR (c = 1) to RT_TURN_INCOMPLETE_FACTOR (c = 0), within
RT_TURN_MIN_WAIT_S .. RT_TURN_MAX_WAIT_S.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from speech import silero

from .turn_signals import Ending, ending, rhythm_threshold_s

KEPT_SAMPLES = 8 * 16000


@dataclass(frozen=True)
class Evidence:
    p_complete: float | None  # Smart Turn; None: not asked (yet)
    words: Ending
    threshold_s: float  # the candidate's rhythm


def completeness(evidence: Evidence, rt=None) -> float:
    """The weighted mean of the signals that spoke, 0.5 when none did."""
    rt = rt or settings.RT
    votes = []
    if evidence.p_complete is not None and rt.turn_smart_turn_weight > 0:
        votes.append((rt.turn_smart_turn_weight, evidence.p_complete))
    if evidence.words is not Ending.UNKNOWN and rt.turn_lexical_weight > 0:
        votes.append((rt.turn_lexical_weight, 1.0 if evidence.words is Ending.COMPLETE else 0.0))
    if not votes:
        return 0.5
    return sum(w * v for w, v in votes) / sum(w for w, _ in votes)


def required_silence_s(evidence: Evidence, rt=None) -> float:
    """Seconds of silence after the last speech that end the turn."""
    rt = rt or settings.RT
    c = completeness(evidence, rt)
    factor = rt.turn_complete_factor + (rt.turn_incomplete_factor - rt.turn_complete_factor) * (
        1.0 - c
    )
    return min(rt.turn_max_wait_s, max(rt.turn_min_wait_s, evidence.threshold_s * factor))


@dataclass
class SignalRule:
    """The evidence of one candidate's turns, fed chunk by chunk (16 kHz s16le).

    `hear` takes each chunk and returns its voiced seconds by Silero VAD;
    `wants_words` says when to flush the recogniser; `words` takes what it has
    heard so far; `silence_s` is the silence the turn needs now; `turn_taken`
    closes a turn with its recognised words.
    Smart Turn (about 70-120 ms of CPU) runs in `ask_smart_turn`, which
    `silence_s` calls when `asks_smart_turn` says it is time: a live session
    calls `ask_smart_turn` in the pool first, so `silence_s` stays cheap.
    """

    language: str
    vad: silero.SileroVad | None = None
    smart_turn: object | None = None  # speech.smart_turn.SmartTurn (anything with probability())
    earlier_pauses: list[float] = field(default_factory=list)
    audio: list[np.ndarray] = field(default_factory=list)  # this turn's samples
    text: str = ""
    last_sound_s: float | None = None
    p_complete: float | None = None  # for the current pause
    compute_s: float = 0.0  # CPU seconds spent in Smart Turn for the current pause
    words_asked: bool = False  # the recogniser was flushed in the current pause

    def hear(self, pcm: bytes, end_s: float) -> float:
        """A chunk of the turn's audio ending at stream time `end_s`; its voiced seconds."""
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32) / 32768
        self.audio.append(samples)
        while sum(map(len, self.audio)) - len(self.audio[0]) >= KEPT_SAMPLES:
            self.audio.pop(0)  # Smart Turn reads the last 8 s only
        voiced = silero.voiced_seconds(self.vad.accept(pcm)) if self.vad else 0.0
        if voiced > 0:
            self.sounded(end_s)
        return voiced

    def words(self, text: str, last_word_end_s: float | None) -> None:
        """What the recogniser has heard in this turn so far (partial included)."""
        self.text = text
        if last_word_end_s is not None:
            self.sounded(last_word_end_s)

    def sounded(self, at_s: float) -> None:
        if self.last_sound_s is None or at_s > self.last_sound_s + 1e-6:
            self.last_sound_s = at_s
            self.p_complete = None  # a new pause gets a new verdict
            self.compute_s = 0.0
            self.words_asked = False

    def wants_words(self, now_s: float) -> bool:
        """True once per pause, RT_TURN_SMART_TURN_AFTER_S into it: the recogniser's
        partial hypothesis lags the audio by up to a second (Vosk), so the caller
        flushes it then (its final) and the words' verdict is about the last word."""
        if self.words_asked or self.last_sound_s is None:
            return False
        if now_s - self.last_sound_s < settings.RT.turn_smart_turn_after_s - 1e-6:
            return False
        self.words_asked = True
        return True

    def evidence(self) -> Evidence:
        return Evidence(
            p_complete=self.p_complete,
            words=ending(self.text, self.language),
            threshold_s=rhythm_threshold_s(self.earlier_pauses),
        )

    def asks_smart_turn(self, now_s: float) -> bool:
        """Smart Turn has not spoken in this pause, which is RT_TURN_SMART_TURN_AFTER_S long."""
        if self.smart_turn is None or self.p_complete is not None or self.last_sound_s is None:
            return False
        return now_s - self.last_sound_s >= settings.RT.turn_smart_turn_after_s - 1e-6

    def ask_smart_turn(self) -> float:
        """Smart Turn's P(complete) for the current pause (blocking: 70-120 ms of CPU)."""
        started = time.thread_time()
        self.p_complete = self.smart_turn.probability(
            np.concatenate(self.audio) if self.audio else np.zeros(0, np.float32)
        )
        self.compute_s = time.thread_time() - started
        return self.p_complete

    def silence_s(self, now_s: float) -> float:
        """The silence that ends the turn now (asks Smart Turn once per pause)."""
        if self.asks_smart_turn(now_s):
            self.ask_smart_turn()
        return required_silence_s(self.evidence())

    def turn_taken(self, pauses: list[float]) -> None:
        """The turn ended: its pauses join the candidate's rhythm; a clean slate."""
        self.earlier_pauses.extend(pauses)
        self.audio.clear()
        self.text = ""
        self.last_sound_s = None  # the next turn's first sound starts its first pause
        self.p_complete = None
        self.compute_s = 0.0
        self.words_asked = False
