"""The declared interface of a speech recogniser: an engine and its streams.

`SpeechStream` (speech/stream.py) and whole-recording transcription
(speech/transcribe.py) use an engine through these Protocols only; Vosk
(speech/vosk_engine.py) is the one implementation today. Another engine plugs
in by implementing them and being named in settings.RT.speech_engine
(RT_SPEECH_ENGINE, a dotted path to a class made with no arguments; see
speech/engines.py and docs/speech.md, "Adding an engine").

Threads: `Recognizer.load` may take seconds (it runs in a worker thread);
every `RecognizerStream` call runs in the "stt" pool (interview_rt/pools.py),
one call at a time per stream, never on the event loop.

Times: a stream's results are in its own clock, seconds of audio fed since it
was opened or last `reset()`, across `finish()`es.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .frames import Final, Partial


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """What a stream is asked for. The defaults (PLAIN) are what live
    interviews use; only plain streams are kept warm for reuse (speech/warm.py).

    - `words`: per-word times (and confidences) in results;
    - `max_alternatives`: above 0, each Final carries up to this many
      Alternative transcripts, best first;
    - `phrase_list`: a grammar, the phrases the stream may recognise (words
      the engine does not know are left out); empty: no restriction.
    """

    words: bool = True
    max_alternatives: int = 0
    phrase_list: tuple[str, ...] = ()


PLAIN = StreamOptions()


@runtime_checkable
class RecognizerStream(Protocol):
    """One recogniser at work on one audio stream of s16le mono PCM at the
    rate it was opened with."""

    def feed(self, pcm: bytes) -> Final | None:
        """Decode `pcm`. The utterance's Final when the engine ended one at a
        pause (its text may be empty: nothing it could name), else None."""
        ...

    def partial(self) -> Partial:
        """The hypothesis for the utterance in progress (after a feed that
        returned None), with where its last word ends."""
        ...

    def finish(self) -> Final:
        """End the utterance now (the end of a turn or of the audio): its
        Final (text may be empty). The stream goes on in the same clock."""
        ...

    def reset(self) -> None:
        """Forget the utterance in progress and restart the clock at 0: the
        stream can serve a new audio stream (a warm recogniser)."""
        ...

    def close(self) -> None:
        """Free the recogniser; the stream is not used again."""
        ...

    @property
    def decoded_s(self) -> float:
        """Seconds of audio the recogniser has decoded over its whole life,
        across resets: the warm pool keeps the most practised (a recogniser
        caches what it has decoded, so a practised one decodes faster)."""
        ...


@runtime_checkable
class Recognizer(Protocol):
    """A speech recognition engine; one instance per process (speech/engines.py)."""

    def available(self, language: str) -> bool:
        """Whether `language` can be recognised, without loading anything."""
        ...

    def load(self, language: str) -> Hashable:
        """The model for `language`, loaded on first use (blocking; seconds
        the first time). The value is the engine's own and is only handed back
        to `open`; streams opened with the same model, rate and options are
        interchangeable. SpeechUnavailable, naming the fix, if there is none."""
        ...

    def open(self, model: Hashable, sample_rate: int, options: StreamOptions) -> RecognizerStream:
        """A new stream on `model` for PCM at `sample_rate`."""
        ...
