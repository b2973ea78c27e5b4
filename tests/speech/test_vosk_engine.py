"""The Vosk engine through the interface: options, results, its clock.

The real Korean model and espeak-ng speech; transcripts are compared with
other decodes of the same audio, never with the synthesised text. Kaldi's
dither draws from the C rand(), so decodes that must agree exactly reseed it.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys

import pytest
import vosk

from speech.interface import PLAIN, StreamOptions
from speech.vosk_engine import VoskEngine, new_recognizer
from tests.audio_fixtures import KOREAN_ANSWER, KOREAN_SHORT, frames, silence, speak

pytestmark = pytest.mark.speech

PHRASES = ("소프트웨어 엔지니어 입니다", "학생 입니다")

_libc = ctypes.CDLL(None)


@pytest.fixture(scope="module")
def engine():
    return VoskEngine()


@pytest.fixture(scope="module")
def model(engine):
    return engine.load("ko")


def decode(engine, model, pcm, options=PLAIN, same_dither=True):
    """Every Final of `pcm` fed in 100 ms pieces, the last from finish()."""
    if same_dither:
        _libc.srand(1)
    stream = engine.open(model, 16000, options)
    try:
        finals = [f for f in (stream.feed(chunk) for chunk in frames(pcm)) if f is not None]
        return [*finals, stream.finish()]
    finally:
        stream.close()


FRESH = "INTERVIEW_RT_TEST_FRESH_PROCESS"


def in_a_process_without_onnxruntime(test: str) -> bool:
    """Decodes that must agree word for word, reseeded or not, can differ by a
    word once onnxruntime is loaded in the process (measured: see
    tests/speech/test_stream.py; with two test workers the turn models' tests
    may have loaded it earlier). Then the test runs again in a new process,
    and True says it was checked there."""
    if "onnxruntime" not in sys.modules or os.environ.get(FRESH):
        return False
    child = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{__file__}::{test}"],
        env={**os.environ, FRESH: "1"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert child.returncode == 0, (child.stdout + child.stderr)[-3000:]
    return True


def text_of(finals) -> str:
    return " ".join(f.text for f in finals if f.text)


ANSWER = silence(0.3) + speak(KOREAN_ANSWER) + silence(1.0) + speak(KOREAN_SHORT) + silence(0.3)


def test_finals_carry_timed_scored_words_and_partials_where_the_last_word_ends(engine, model):
    stream = engine.open(model, 16000, PLAIN)
    partial_ends = []
    for chunk in frames(silence(0.3) + speak(KOREAN_SHORT)):
        if stream.feed(chunk) is None:
            partial_ends.append(stream.partial().end_s)
    final = stream.finish()
    stream.close()
    assert final.text and [w.word for w in final.words] == final.text.split()
    assert all(0.2 <= w.start < w.end and 0.0 <= w.conf <= 1.0 for w in final.words)
    assert (final.start_s, final.end_s) == (final.words[0].start, final.words[-1].end)
    ends = [e for e in partial_ends if e is not None]
    assert ends and max(ends) <= final.end_s + 0.3


def test_words_off_gives_the_same_text_without_words(engine, model):
    if in_a_process_without_onnxruntime("test_words_off_gives_the_same_text_without_words"):
        return
    with_words = decode(engine, model, ANSWER)
    without = decode(engine, model, ANSWER, StreamOptions(words=False))
    assert text_of(without) == text_of(with_words)
    assert all(f.words == () for f in without)


def test_alternatives_come_best_first_with_timed_words(engine, model):
    finals = decode(engine, model, ANSWER, StreamOptions(max_alternatives=5))
    spoken = [f for f in finals if f.text]
    assert spoken
    for final in finals:
        assert 1 <= len(final.alternatives) <= 5
        best = final.alternatives[0]
        assert (final.text, final.words) == (best.text, best.words)
        scores = [a.confidence for a in final.alternatives]
        assert scores == sorted(scores, reverse=True)
        for alternative in final.alternatives:
            assert [w.word for w in alternative.words] == alternative.text.split()
            # Vosk scores whole alternatives, not their words.
            assert all(w.conf is None and w.start < w.end for w in alternative.words)


def test_a_phrase_list_restricts_the_words_to_its_phrases(engine, model):
    if in_a_process_without_onnxruntime("test_a_phrase_list_restricts_the_words_to_its_phrases"):
        return
    finals = decode(engine, model, ANSWER, StreamOptions(phrase_list=PHRASES))
    vocabulary = {word for phrase in PHRASES for word in phrase.split()}
    heard = text_of(finals).split()
    assert heard and set(heard) <= vocabulary
    # The same recogniser as vosk-server builds: KaldiRecognizer(model, rate, json).
    grammar = json.dumps(list(PHRASES), ensure_ascii=False)
    _libc.srand(1)
    reference = vosk.KaldiRecognizer(model, 16000, grammar)
    reference.SetWords(True)
    texts = [
        json.loads(reference.Result())["text"]
        for chunk in frames(ANSWER)
        if reference.AcceptWaveform(chunk)
    ]
    texts.append(json.loads(reference.FinalResult())["text"])
    assert text_of(finals) == " ".join(t for t in texts if t)


def test_reset_restarts_the_clock_and_finish_keeps_it(engine, model):
    pcm = silence(0.5) + speak(KOREAN_SHORT) + silence(0.3)
    seconds = len(pcm) / 2 / 16000
    stream = engine.open(model, 16000, PLAIN)
    firsts = []
    for _ in range(2):  # two turns: finish() keeps the clock running
        for chunk in frames(pcm):
            stream.feed(chunk)
        firsts.append(stream.finish().start_s)
    assert firsts[1] - firsts[0] == pytest.approx(seconds, abs=0.15)
    stream.reset()  # a new audio stream: back to 0
    for chunk in frames(pcm):
        stream.feed(chunk)
    assert stream.finish().start_s == pytest.approx(firsts[0], abs=0.15)
    stream.close()


def test_new_recognizer_is_set_up_as_vosk_server_sets_it_up(model):
    plain = new_recognizer(model, 16000)
    alternatives = new_recognizer(model, 16000, StreamOptions(max_alternatives=3))
    assert json.loads(plain.FinalResult()) == {"text": ""}
    assert json.loads(alternatives.FinalResult()) == {
        "alternatives": [{"text": "", "confidence": 1.0}]
    }
