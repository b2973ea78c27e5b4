"""Vosk (Kaldi) as a speech engine: speech.interface's Recognizer and RecognizerStream.

Models come from speech/model_registry.py (one per folder, loaded once per
process). Every call on a stream runs in the "stt" pool; a KaldiRecognizer
is not thread-safe, and its callers (speech/stream.py) run one call at a
time per stream.
"""

from __future__ import annotations

import json
from typing import Any

import vosk

from .frames import Alternative, Final, Partial, Word
from .interface import PLAIN, StreamOptions
from .model_registry import ModelRegistry, registry


def new_recognizer(
    model: vosk.Model, sample_rate: int, options: StreamOptions = PLAIN
) -> vosk.KaldiRecognizer:
    """A KaldiRecognizer set up for `options`, as alphacep/vosk-server makes
    one (a phrase list is its grammar, as JSON)."""
    if options.phrase_list:
        grammar = json.dumps(list(options.phrase_list), ensure_ascii=False)
        recognizer = vosk.KaldiRecognizer(model, sample_rate, grammar)
    else:
        recognizer = vosk.KaldiRecognizer(model, sample_rate)
    recognizer.SetWords(options.words)
    # Word times in partials too: turn taking measures silence from the last word.
    recognizer.SetPartialWords(options.words)
    if options.max_alternatives:
        recognizer.SetMaxAlternatives(options.max_alternatives)
    return recognizer


class VoskEngine:
    """The Vosk engine (RT_SPEECH_ENGINE's default)."""

    def __init__(self, models: ModelRegistry = registry) -> None:
        self.models = models

    def available(self, language: str) -> bool:
        return self.models.available(language)

    def load(self, language: str) -> vosk.Model:
        return self.models.model_for(language)

    def open(self, model: vosk.Model, sample_rate: int, options: StreamOptions) -> VoskStream:
        return VoskStream(new_recognizer(model, sample_rate, options), sample_rate, options)

    def __repr__(self) -> str:
        return "<VoskEngine>"


class VoskStream:
    """One KaldiRecognizer at work. Vosk's clock keeps running across
    FinalResult and Reset, so the stream counts the seconds it has fed and,
    at `reset()`, takes that as the new zero: times stay in the clock of the
    audio stream it serves, however long the recogniser has lived."""

    def __init__(
        self, recognizer: vosk.KaldiRecognizer, sample_rate: int, options: StreamOptions
    ) -> None:
        self.recognizer: vosk.KaldiRecognizer | None = recognizer
        self.sample_rate = sample_rate
        self.options = options
        self._alternatives = options.max_alternatives > 0
        self._fed_s = 0.0  # seconds fed over the recogniser's life: Vosk's clock
        self._base_s = 0.0  # Vosk's clock at the last reset(): this stream's zero

    def feed(self, pcm: bytes) -> Final | None:
        self._fed_s += len(pcm) / 2 / self.sample_rate
        if self.recognizer.AcceptWaveform(pcm):
            return self._final(json.loads(self.recognizer.Result()))
        return None

    def partial(self) -> Partial:
        result = json.loads(self.recognizer.PartialResult())
        words = result.get("partial_result")
        end_s = max(float(w["end"]) for w in words) - self._base_s if words else None
        return Partial(str(result.get("partial", "")).strip(), end_s)

    def finish(self) -> Final:
        final = self._final(json.loads(self.recognizer.FinalResult()))
        # Reset keeps Vosk's clock: the next utterance's times follow on.
        self.recognizer.Reset()
        return final

    def reset(self) -> None:
        self.recognizer.FinalResult()  # decodes what is pending, so Vosk's clock = _fed_s
        self.recognizer.Reset()
        self._base_s = self._fed_s

    def close(self) -> None:
        self.recognizer = None

    @property
    def decoded_s(self) -> float:
        return self._fed_s

    def _final(self, result: dict[str, Any]) -> Final:
        alternatives: tuple[Alternative, ...] = ()
        if self._alternatives:
            alternatives = tuple(
                Alternative(
                    text=str(a.get("text", "")).strip(),
                    confidence=float(a.get("confidence", 0.0)),
                    words=self._words(a.get("result")),
                )
                for a in result.get("alternatives") or ()
            )
            best = alternatives[0] if alternatives else Alternative("", 0.0)
            text, words = best.text, best.words
        else:
            text = str(result.get("text", "")).strip()
            words = self._words(result.get("result"))
        if words:
            start_s, end_s = words[0].start, words[-1].end
        else:
            start_s = end_s = round(self._fed_s - self._base_s, 6)
        return Final(text, start_s, end_s, words, alternatives)

    def _words(self, items: list[dict[str, Any]] | None) -> tuple[Word, ...]:
        base_s = self._base_s
        return tuple(
            Word(
                word=str(w["word"]),
                start=round(float(w["start"]) - base_s, 6),
                end=round(float(w["end"]) - base_s, 6),
                conf=float(w["conf"]) if "conf" in w else None,
            )
            for w in items or ()
        )

    def __repr__(self) -> str:
        return f"<VoskStream {self.sample_rate} Hz {self._fed_s - self._base_s:.1f}s>"
