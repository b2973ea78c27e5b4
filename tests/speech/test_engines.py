"""RT_SPEECH_ENGINE: an engine plugs in by implementing speech.interface.

FixedEngine is a stand-in for a second engine, here only to test the seam: it
"hears" the same two words in every second of audio, so the test can tell
that a live stream, its warm reuse and whole-recording transcription all go
through the engine the setting names. Recognition itself is tested with
Vosk (test_stream.py, test_vosk_engine.py).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.core.exceptions import ImproperlyConfigured

from interviews.exceptions import SpeechUnavailable
from speech import engines
from speech.frames import AudioChunk, Final, Partial, Word
from speech.interface import Recognizer, RecognizerStream
from speech.stream import SpeechStream
from speech.transcribe import transcribe_pcm
from speech.vosk_engine import VoskEngine
from speech.warm import warm
from tests.audio_fixtures import frames, silence

FIXED = f"{__name__}.FixedEngine"


class FixedStream:
    """Ends an utterance "fixed words" at every full second of its clock."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.clock_s = 0.0
        self.utterance_s = 0.0
        self.closed = False
        self.decoded_s = 0.0

    def feed(self, pcm: bytes) -> Final | None:
        self.decoded_s += len(pcm) / 2 / self.sample_rate
        self.clock_s = round(self.clock_s + len(pcm) / 2 / self.sample_rate, 6)
        return self.finish() if self.clock_s - self.utterance_s >= 1.0 else None

    def partial(self) -> Partial:
        return Partial("fixed", end_s=self.clock_s)

    def finish(self) -> Final:
        start, end = self.utterance_s, self.clock_s
        self.utterance_s = end
        if end <= start:
            return Final("", start, end)
        middle = (start + end) / 2
        words = (Word("fixed", start, middle, 0.9), Word("words", middle, end, 0.8))
        return Final("fixed words", start, end, words)

    def reset(self) -> None:
        self.clock_s = self.utterance_s = 0.0

    def close(self) -> None:
        self.closed = True


class FixedEngine:
    def available(self, language: str) -> bool:
        return language == "zz"

    def load(self, language: str) -> str:
        if language != "zz":
            raise SpeechUnavailable(f"FixedEngine knows only 'zz', not {language!r}.")
        return "fixed-model"

    def open(self, model, sample_rate, options) -> FixedStream:
        assert model == "fixed-model"
        return FixedStream(sample_rate)


@pytest.fixture
def fixed_engine(settings):
    settings.RT = replace(settings.RT, speech_engine=FIXED)
    warm.clear()
    yield engines.current()
    warm.clear()


def test_the_default_engine_is_vosk_resolved_once():
    engine = engines.current()
    assert isinstance(engine, VoskEngine) and isinstance(engine, Recognizer)
    assert engines.current() is engine


def test_the_setting_names_the_engine(fixed_engine):
    assert isinstance(fixed_engine, FixedEngine) and isinstance(fixed_engine, Recognizer)
    assert isinstance(FixedStream(16000), RecognizerStream)


async def test_a_live_stream_decodes_with_the_engine_the_setting_names(fixed_engine):
    async with await SpeechStream.open("zz") as stream:
        assert isinstance(stream.recognizer, FixedStream)
        results = []
        for frame in frames(silence(2.5)):
            results += await stream.accept(AudioChunk(frame, 16000))
        last = await stream.finish_utterance()
        assert stream.last_word_end_s == pytest.approx(2.5)
    # The stream passes the engine's frames on: one partial (it does not
    # change), then a final at each second, in stream time.
    assert results[0] == Partial("fixed", end_s=0.1)
    finals = [r for r in results if isinstance(r, Final)]
    assert [(f.text, f.start_s, f.end_s) for f in finals] == [
        ("fixed words", 0.0, 1.0),
        ("fixed words", 1.0, 2.0),
    ]
    assert finals[0].words == (Word("fixed", 0.0, 0.5, 0.9), Word("words", 0.5, 1.0, 0.8))
    assert (last.text, last.start_s, last.end_s) == ("fixed words", 2.0, 2.5)


async def test_the_engine_decides_which_languages_it_has(fixed_engine):
    with pytest.raises(SpeechUnavailable, match="only 'zz'"):
        await SpeechStream.open("ko")


async def test_a_closed_streams_recogniser_is_reset_and_reused(fixed_engine):
    first = await SpeechStream.open("zz")
    recogniser = first.recognizer
    for frame in frames(silence(1.5)):
        await first.accept(AudioChunk(frame, 16000))
    await first.close()
    assert warm.count() == 1 and not recogniser.closed

    second = await SpeechStream.open("zz")
    assert second.recognizer is recogniser and recogniser.clock_s == 0.0
    results = []
    for frame in frames(silence(1.0)):
        results += await second.accept(AudioChunk(frame, 16000))
    assert [(f.start_s, f.end_s) for f in results if isinstance(f, Final)] == [(0.0, 1.0)]
    await second.close()


async def test_whole_recordings_go_through_the_engine(fixed_engine):
    result = await transcribe_pcm(silence(2.5), 16000, "zz")
    assert result["text"] == "fixed words fixed words fixed words"
    assert result["duration_s"] == 2.5
    assert [w["word"] for w in result["words"]] == ["fixed", "words"] * 3


def test_a_setting_that_names_no_engine_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="cannot be imported"):
        engines.load("speech.no_such_module.Engine")
    with pytest.raises(ImproperlyConfigured, match="is not a speech engine"):
        engines.load("collections.OrderedDict")
