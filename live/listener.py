"""How a live session's audio becomes turns: the TurnTaker, and the rule that sets its silence.

`RT_TURN_RULE` chooses the rule:

- "signals" (the default): turn-taking v2 (live/turn_rule.py, docs/speech.md).
  Silero VAD, one per session (its recurrent state follows the stream),
  decides which audio is voiced, in the pool with the decoding of the same
  chunk (SpeechStream's `voice_meter`); the recogniser is flushed once per
  pause, RT_TURN_SMART_TURN_AFTER_S into it, so the words' verdict sees the
  last word; Smart Turn is asked once per pause, in the pool; the candidate's
  rhythm comes from the pauses inside their committed answers. A recognised
  word counts as speech (its end time, and for the words' verdict) only up to
  RT_TURN_WORD_TAIL_S past the last voiced audio, so the words the recogniser
  makes of noise neither open a turn nor keep one open.
- "silence": the fixed rule, RT_TURN_SILENCE_S after the last recognised word
  or voiced chunk (voice by speech.vad's spectral flatness).

Without the models (`manage.py ensure_turn_models`), "signals" falls back to
"silence" with one WARNING per process. Either way the session's
accommodation (InterviewSession.extra_time_s) is added to every silence the
rule waits, above RT_TURN_MAX_WAIT_S too. `turn.hold`, `turn.end` and typed
answers are the TurnTaker's, unchanged.

The session calls `start` before it opens its speech stream (the voice meter
to open it with), `hear` with each decoded chunk, `feed` with `Held` and
`Flushed`, and `take` to close a turn; `decided` then says what decided it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from interview_rt import pools
from speech import silero, smart_turn
from speech.frames import Final, Partial, Voice
from speech.stream import SpeechStream, VoiceMeter
from speech.turn_models import models_dir

from .frames import EndedBy, Turn
from .turn_rule import SignalRule, completeness, required_silence_s
from .turn_signals import pauses
from .turns import MIN_VOICED_S, Decision, Flushed, Heard, Held, TurnTaker

log = logging.getLogger(__name__)

SIGNALS = "signals"
SILENCE = "silence"
RULES = (SIGNALS, SILENCE)


@dataclass(frozen=True)
class TurnModels:
    vad_session: Any  # onnxruntime.InferenceSession, shared; each session's state is its own
    smart_turn: smart_turn.SmartTurn


_loaded: dict[tuple[str, int], TurnModels | None] = {}
_lock = threading.Lock()


def turn_models() -> TurnModels | None:
    """The signals' models, loaded once per process (blocking: checksums and
    onnxruntime sessions; call it in the pool). None when they cannot be
    loaded, with one WARNING: live sessions then use the fixed rule until the
    models are installed and the server restarted."""
    key = (str(models_dir()), settings.RT.turn_model_threads)
    with _lock:
        if key not in _loaded:
            try:
                _loaded[key] = TurnModels(silero.load_session(), smart_turn.SmartTurn())
            except Exception as exc:
                log.warning(
                    "turn models unavailable: live sessions use the fixed silence rule",
                    extra={"reason": str(exc), "fix": "manage.py ensure_turn_models"},
                )
                _loaded[key] = None
        return _loaded[key]


def forget_turn_models() -> None:
    """Load the models again on next use (tests; a server restart does the same)."""
    with _lock:
        _loaded.clear()


class Listener:
    """One session's turn taking, fed chunk by chunk (module docstring)."""

    def __init__(self, *, language: str, extra_time_s: float = 0.0) -> None:
        rt = settings.RT
        self.language = language
        self.extra_time_s = max(0.0, float(extra_time_s or 0.0))
        self.turns = TurnTaker(silence_s=rt.turn_silence_s + self.extra_time_s)
        self.rule: SignalRule | None = None
        self.last_voiced_s: float | None = None
        self.finals_text: list[str] = []  # this turn's finals so far (the rule's words)
        self.partial_text = ""
        self.decided: dict[str, Any] = {}  # what decided the last turn taken
        self.last_pauses: list[float] = []  # the last turn's, in the rhythm (take-back undoes)

    @property
    def kind(self) -> str:
        """The rule in force: "signals" or "silence"."""
        return SIGNALS if self.rule is not None else SILENCE

    async def start(self) -> VoiceMeter | None:
        """Load what the rule needs (in the pool): the voice meter to open the
        speech stream with, None for the fixed rule's own check."""
        if self.rule is None and settings.RT.turn_rule == SIGNALS:
            models = await pools.run("stt", turn_models)
            if models is not None:
                self.rule = SignalRule(
                    self.language,
                    vad=silero.SileroVad(models.vad_session),
                    smart_turn=models.smart_turn,
                )
        return self.meter if self.rule is not None else None

    def meter(self, samples: bytes, end_s: float) -> float:
        """In the pool, with the decoding: a chunk's voiced seconds by Silero VAD."""
        return self.rule.hear(samples, end_s)

    async def hear(self, stream: SpeechStream, frames: list[Voice | Partial | Final]) -> Decision:
        """One decoded chunk (the frames `stream.accept` returned): what to show,
        and whether the silence rule ended the turn."""
        voiced = frames[0].voiced_s if frames and isinstance(frames[0], Voice) else 0.0
        results = [f for f in frames if not isinstance(f, Voice)]
        now = stream.audio_time_s
        rule = self.rule
        if rule is None:
            return self.turns.feed(Heard(now, voiced, tuple(results), stream.last_word_end_s))
        if voiced > 0:
            self.last_voiced_s = now
        self._note(results)
        in_turn = self.turns.voiced_s + voiced >= MIN_VOICED_S
        if in_turn and rule.wants_words(now) and not any(isinstance(r, Final) for r in results):
            final = await stream.finish_utterance()  # the last word, not a second late
            if final is not None:
                results.append(final)
                self._note([final])
        word_end = self._word_end(stream.last_word_end_s)
        rule.words(self.text, word_end)
        if in_turn and rule.asks_smart_turn(now):
            await pools.run("stt", rule.ask_smart_turn)
        self.turns.silence_s = required_silence_s(rule.evidence()) + self.extra_time_s
        return self.turns.feed(Heard(now, voiced, tuple(results), word_end))

    def feed(self, event: Held | Flushed) -> Decision:
        """`turn.hold`, and the recogniser's flush when a turn is ended."""
        return self.turns.feed(event)

    @property
    def heard(self) -> bool:
        return self.turns.heard

    def set_extra_time(self, extra_time_s: float) -> None:
        """The session's accommodation changed (staff): from the next silence on."""
        extra = max(0.0, float(extra_time_s or 0.0))
        self.turns.silence_s += extra - self.extra_time_s
        self.extra_time_s = extra

    @property
    def voiced(self) -> bool:
        """This turn has voiced sound enough to count as speech (take-back asks)."""
        return self.turns.voiced

    def reopen(self, earlier: Turn) -> None:
        """This turn goes on from `earlier` (take-back): its words come first, and
        its pauses leave the rhythm, to come back with the whole answer's."""
        self.turns.reopen(earlier)
        self.finals_text[:0] = [f.text.strip() for f in earlier.finals if f.text.strip()]
        if self.rule is not None and self.last_pauses:
            del self.rule.earlier_pauses[-len(self.last_pauses) :]
            self.last_pauses = []

    @property
    def text(self) -> str:
        return " ".join([*self.finals_text, self.partial_text]).strip()

    def take(self, ended_by: EndedBy, stt_final_ms: float | None = None) -> Turn | None:
        """The finished turn (TurnTaker.take); its pauses join the candidate's
        rhythm, and `decided` keeps what decided it."""
        self.decided = self._verdict()
        turn = self.turns.take(ended_by, stt_final_ms)
        if self.rule is not None:
            self.last_pauses = pauses(turn.words) if turn else []
            self.rule.turn_taken(self.last_pauses)
        self.finals_text.clear()
        self.partial_text = ""
        return turn

    def _note(self, results: list[Partial | Final]) -> None:
        """The rule's words: those the recogniser heard in voiced audio (its
        words for noise would otherwise say "filler" and keep the turn open)."""
        if self.last_voiced_s is None:
            return
        limit = self.last_voiced_s + settings.RT.turn_word_tail_s
        for result in results:
            if isinstance(result, Partial):
                if result.end_s is None or result.end_s <= limit:
                    self.partial_text = result.text
            else:
                words = [w.word for w in result.words if w.end <= limit]
                text = " ".join(words) if result.words else result.text.strip()
                if text:
                    self.finals_text.append(text)
                self.partial_text = ""

    def _word_end(self, last_word_end_s: float | None) -> float | None:
        """The recogniser's latest word end, if it is speech: words the
        recogniser makes of noise end far from any voiced audio."""
        if last_word_end_s is None or self.last_voiced_s is None:
            return None
        return min(last_word_end_s, self.last_voiced_s + settings.RT.turn_word_tail_s)

    def _verdict(self) -> dict[str, Any]:
        verdict: dict[str, Any] = {
            "rule": self.kind,
            "silence_needed_s": round(self.turns.silence_s, 2),
            "extra_time_s": self.extra_time_s,
        }
        if self.rule is not None:
            evidence = self.rule.evidence()
            p = evidence.p_complete
            verdict |= {
                "c": round(completeness(evidence), 2),
                "p_complete": None if p is None else round(p, 3),
                "words_verdict": evidence.words.value,
                "rhythm_s": round(evidence.threshold_s, 2),
                "smart_turn_ms": round(self.rule.compute_s * 1000),
            }
        return verdict
