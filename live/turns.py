"""Turn taking: when is the candidate's answer finished?

A turn ends on `turn.end`, on a typed `answer.text`, or after
``settings.RT.turn_silence_s`` of *audio* time (not wall time, so a slow
network or a busy decoder cannot cut an answer short) after the last
recognised word. `turn.hold` suspends the silence rule until speech resumes.
A turn with no voiced audio (noise, clicks) or no words is dropped: it never
reaches the interviewer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from speech.frames import Final

from .frames import Turn

# Voiced audio a spoken turn needs before it counts (seconds).
MIN_VOICED_S = 0.15


@dataclass
class TurnTaker:
    silence_s: float
    finals: list[Final] = field(default_factory=list)
    pcm: bytearray = field(default_factory=bytearray)
    sample_rate: int = 16000
    voiced_s: float = 0.0
    has_words: bool = False  # anything recognised (partial or final) in this turn
    held_at_s: float | None = None  # audio time of the last turn.hold
    last_speech_s: float | None = None  # audio time of the last recognised word
    # Recognised words lag the audio (a hypothesis can sit on one word for
    # seconds), so voiced audio also counts as speech for the silence rule.
    last_voiced_s: float | None = None
    # Words ending at or before this belong to an earlier turn (stream time runs on).
    floor_s: float = -1.0

    def on_audio(
        self, pcm: bytes, sample_rate: int, voiced_s: float, end_s: float, keep_audio: bool
    ) -> None:
        """A chunk ending at stream time `end_s`, with `voiced_s` of voiced sound."""
        if voiced_s > 0:
            self.last_voiced_s = end_s
            if self.held_at_s is not None and end_s > self.held_at_s:
                self.held_at_s = None  # speech resumed after turn.hold
        if keep_audio:
            if sample_rate != self.sample_rate and self.pcm:
                self.pcm.clear()  # rate changed mid-turn: keep one consistent rate
            self.pcm.extend(pcm)
        self.sample_rate = sample_rate
        self.voiced_s += voiced_s

    def on_words(self, last_word_end_s: float | None) -> None:
        """The recogniser heard words ending at `last_word_end_s` (stream time)."""
        if last_word_end_s is None or last_word_end_s <= self.floor_s:
            return
        if self.last_speech_s is None or last_word_end_s > self.last_speech_s:
            self.last_speech_s = last_word_end_s
            self.has_words = True
            if self.held_at_s is not None and last_word_end_s > self.held_at_s:
                self.held_at_s = None  # speech resumed: the silence rule is back

    def on_final(self, final: Final) -> None:
        if final.text.strip():
            self.finals.append(final)
            self.on_words(final.end_s)

    def hold(self, audio_time_s: float) -> None:
        self.held_at_s = audio_time_s

    def silence_elapsed(self, audio_time_s: float) -> bool:
        # Short answers may get no partial words before the recogniser is
        # flushed, so voiced audio alone also opens a turn for the silence rule.
        heard = self.has_words or self.voiced_s >= MIN_VOICED_S
        if self.held_at_s is not None or not heard:
            return False
        last_sound = max(self.last_speech_s or 0.0, self.last_voiced_s or 0.0)
        return audio_time_s - last_sound >= self.silence_s - 1e-6  # float sums of chunk times

    def is_speech(self) -> bool:
        return bool(self.finals) and self.voiced_s >= MIN_VOICED_S

    def take(self, ended_by: str, stt_final_ms: float | None = None) -> Turn | None:
        """The finished turn (None for noise or nothing), and a clean slate."""
        turn = None
        if self.is_speech():
            turn = Turn(
                text=" ".join(f.text.strip() for f in self.finals if f.text.strip()),
                finals=tuple(self.finals),
                ended_by=ended_by,
                audio_pcm=bytes(self.pcm),
                sample_rate=self.sample_rate,
                stt_final_ms=stt_final_ms,
            )
        if self.last_speech_s is not None:
            self.floor_s = max(self.floor_s, self.last_speech_s)
        self.finals.clear()
        self.pcm.clear()
        self.voiced_s = 0.0
        self.has_words = False
        self.held_at_s = None
        self.last_speech_s = None
        self.last_voiced_s = None
        return turn
