"""The signals' rule wired into a session's audio path (live/listener.py), with
stand-in models: Silero's graph and Smart Turn replaced by certain answers, the
speech stream by its stream time and flushes. The real models and recogniser
drive it in tests/consumers/test_turn_rule.py and tests/e2e/test_turn_latency.py."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

import numpy as np
import pytest

from live import listener as listener_module
from live.frames import EndedBy
from live.listener import Listener, TurnModels, forget_turn_models, turn_models
from live.turns import Held
from speech.frames import Final, Partial, Voice, Word

COMPLETE = "저는 개발자입니다"  # a sentence ending
MID_CLAUSE = "저는 데이터를 정리하고"  # a connective ending: the clause goes on
SPEECH = np.full(1600, 3000, dtype="<i2").tobytes()  # 100 ms the stand-in VAD calls speech
QUIET = bytes(3200)


class LoudIsSpeech:
    """Stands in for Silero's onnxruntime session: P(speech) 1 for a loud frame, else 0."""

    def run(self, _outputs, inputs):
        loud = float(np.abs(inputs["input"]).max()) > 0.05
        return np.array([[1.0 if loud else 0.0]], dtype=np.float32), inputs["state"]


class SureComplete:
    """Stands in for Smart Turn: sure every turn is complete; notes where it ran."""

    def __init__(self):
        self.threads: list[str] = []

    def probability(self, samples):
        self.threads.append(threading.current_thread().name)
        return 1.0


class Stream:
    """Stands in for SpeechStream: stream time, the latest word's end, flushes."""

    def __init__(self):
        self.audio_time_s = 0.0
        self.last_word_end_s: float | None = None
        self.flushes = 0
        self.pending: str | Final = ""  # what a flush returns as the final

    async def finish_utterance(self):
        self.flushes += 1
        text, self.pending = self.pending, ""
        if isinstance(text, Final) or not text:
            return text or None
        end = self.audio_time_s - 0.2
        words = tuple(Word(w, end - 0.3, end, 0.9) for w in text.split())
        return Final(text, end - 0.3, end, words)


@pytest.fixture
def smart():
    return SureComplete()


@pytest.fixture
def stand_in_models(monkeypatch, smart, settings):
    settings.RT = replace(settings.RT, turn_rule="signals")  # whatever the environment says
    monkeypatch.setattr(listener_module, "turn_models", lambda: TurnModels(LoudIsSpeech(), smart))


async def started(extra_time_s: float = 0.0) -> tuple[Listener, Stream]:
    listener = Listener(language="ko", extra_time_s=extra_time_s)
    await listener.start()
    return listener, Stream()


async def chunk(listener: Listener, stream: Stream, pcm: bytes, *results, word_end=None):
    """One 100 ms chunk through the path a session takes: the stream's voice
    meter (in the pool with the decoding, here called directly), then `hear`."""
    stream.audio_time_s = round(stream.audio_time_s + 0.1, 3)
    if word_end is not None:
        stream.last_word_end_s = word_end
    voiced = listener.meter(pcm, stream.audio_time_s) if listener.rule else 0.1 * (pcm == SPEECH)
    return await listener.hear(stream, [Voice(voiced), *results])


async def answer(listener: Listener, stream: Stream, text: str, seconds: float = 1.0) -> float:
    """Speech with the recogniser's hypothesis `text`, shown on the chunk after
    it; the end of the last chunk the voice check called voiced (Silero's
    32 ms frames straddle chunks: the chunk after the speech may be one)."""
    for _ in range(round(seconds * 10)):
        await chunk(listener, stream, SPEECH)
    ended = stream.audio_time_s
    await chunk(listener, stream, QUIET, Partial(text, ended - 0.05))
    stream.pending = text  # the flush turns the hypothesis into the final
    return listener.last_voiced_s if listener.rule else ended


async def silence_until_the_turn_ends(listener, stream, since: float, most_s: float = 8.0):
    """Seconds of silence after `since` when the turn ended (None: it did not)."""
    while stream.audio_time_s - since < most_s:
        if (await chunk(listener, stream, QUIET)).end_turn:
            return round(stream.audio_time_s - since, 3)
    return None


@pytest.mark.parametrize(("extra", "ends_after"), [(0.0, 0.8), (2.0, 2.8)])
async def test_a_complete_answer_ends_after_the_short_wait_plus_the_accommodation(
    stand_in_models, extra, ends_after
):
    listener, stream = await started(extra_time_s=extra)
    assert listener.kind == "signals"
    ended = await answer(listener, stream, COMPLETE)
    # c = 1: the rule wants 0.75 s (T 1.5 s x 0.5), then the chunk that reaches it.
    assert await silence_until_the_turn_ends(listener, stream, ended) == ends_after
    turn = listener.take(EndedBy.SILENCE)
    assert turn.text == COMPLETE
    assert listener.decided == {
        "rule": "signals",
        "silence_needed_s": 0.75 + extra,
        "extra_time_s": extra,
        "c": 1.0,
        "p_complete": 1.0,
        "words_verdict": "complete",
        "rhythm_s": 1.5,
        "smart_turn_ms": listener.decided["smart_turn_ms"],
    }


async def test_a_clause_that_goes_on_waits_longer_and_the_accommodation_goes_above_the_longest_wait(
    stand_in_models, settings
):
    listener, stream = await started()
    ended = await answer(listener, stream, MID_CLAUSE)
    # c = 0.25 / 1.25: 1.5 x (0.5 + 2 x 0.8) = 3.15 s, though Smart Turn says complete.
    assert await silence_until_the_turn_ends(listener, stream, ended) == 3.2
    listener.take(EndedBy.SILENCE)

    settings.RT = replace(settings.RT, turn_max_wait_s=1.0)
    listener, stream = await started(extra_time_s=2.0)
    ended = await answer(listener, stream, MID_CLAUSE)
    assert await silence_until_the_turn_ends(listener, stream, ended) == 3.0  # 1.0 at most, + 2
    assert listener.take(EndedBy.SILENCE).text == MID_CLAUSE


async def test_the_fixed_rule_gets_the_accommodation_too(settings):
    settings.RT = replace(settings.RT, turn_rule="silence")
    listener, stream = await started(extra_time_s=1.0)
    assert (listener.kind, await listener.start()) == ("silence", None)  # no voice meter
    ended = await answer(listener, stream, COMPLETE)
    assert await silence_until_the_turn_ends(listener, stream, ended) == 2.5  # 1.5 + 1.0
    listener.take(EndedBy.SILENCE)
    assert listener.decided == {"rule": "silence", "silence_needed_s": 2.5, "extra_time_s": 1.0}


@pytest.mark.parametrize("rule", ["signals", "silence"])
async def test_extra_time_changed_mid_interview_counts_from_the_next_answer(
    stand_in_models, settings, rule
):
    settings.RT = replace(settings.RT, turn_rule=rule)
    listener, stream = await started(extra_time_s=1.0)
    ended = await answer(listener, stream, COMPLETE)
    first = await silence_until_the_turn_ends(listener, stream, ended)
    listener.take(EndedBy.SILENCE)

    listener.set_extra_time(3.0)  # staff raised it while the AI replied
    ended = await answer(listener, stream, COMPLETE)
    assert await silence_until_the_turn_ends(listener, stream, ended) == pytest.approx(first + 2.0)
    listener.take(EndedBy.SILENCE)
    assert listener.decided["extra_time_s"] == 3.0
    assert listener.decided["silence_needed_s"] == pytest.approx(
        {"signals": 0.75, "silence": 1.5}[rule] + 3.0
    )


async def test_smart_turn_and_the_flush_come_once_per_pause_and_smart_turn_off_the_loop(
    stand_in_models, smart
):
    listener, stream = await started()
    await answer(listener, stream, MID_CLAUSE)
    for _ in range(10):  # a 1 s pause inside the answer
        await chunk(listener, stream, QUIET)
    assert (stream.flushes, len(smart.threads)) == (1, 1)
    assert smart.threads[0].startswith("stt")  # the speech pool, not the event loop
    # The flush made the hypothesis a final: the words' verdict saw the last word.
    assert listener.finals_text == [MID_CLAUSE] and listener.decided == {}
    ended = await answer(listener, stream, COMPLETE)  # speech resumes: a new pause
    assert await silence_until_the_turn_ends(listener, stream, ended) == 0.8
    assert (stream.flushes, len(smart.threads)) == (2, 2)
    assert listener.take(EndedBy.SILENCE).text == f"{MID_CLAUSE} {COMPLETE}"


async def test_noise_neither_opens_a_turn_nor_keeps_one_open(stand_in_models, smart, settings):
    listener, stream = await started()
    # The recogniser makes words of noise; the voice check hears none.
    for i in range(30):
        decision = await chunk(listener, stream, QUIET, Partial("어", 0.1 * i), word_end=0.1 * i)
        assert not decision.end_turn and not decision.show
    assert (stream.flushes, smart.threads, listener.take(EndedBy.SILENCE)) == (0, [], None)

    ended = await answer(listener, stream, COMPLETE)
    for _ in range(30):  # and keeps making them after the answer
        noise = round(stream.audio_time_s + 0.1, 3)
        decision = await chunk(listener, stream, QUIET, Partial("어", noise), word_end=noise)
        if decision.end_turn:
            break
    # A word counts up to RT_TURN_WORD_TAIL_S (0.3 s) past the voice: 0.75 s after that.
    assert decision.end_turn and round(stream.audio_time_s - ended, 3) == 1.1
    assert settings.RT.turn_word_tail_s == 0.3


async def test_hold_still_suspends_the_rule_until_speech_resumes(stand_in_models):
    listener, stream = await started()
    ended = await answer(listener, stream, COMPLETE)
    listener.feed(Held(stream.audio_time_s))
    assert await silence_until_the_turn_ends(listener, stream, ended, most_s=5.0) is None
    ended = await answer(listener, stream, COMPLETE)  # speech resumes: the rule is back
    assert await silence_until_the_turn_ends(listener, stream, ended) == 0.8


async def test_the_rhythm_comes_from_the_pauses_inside_committed_answers(stand_in_models):
    listener, stream = await started()
    ended = await answer(listener, stream, COMPLETE)
    await silence_until_the_turn_ends(listener, stream, ended)
    listener.take(EndedBy.SILENCE)  # no pause inside it: the rhythm has nothing yet
    assert listener.rule.earlier_pauses == []
    ended = await answer(listener, stream, COMPLETE)
    words = tuple(Word(w, 2.0 * i, 2.0 * i + 0.5) for i, w in enumerate(["하나", "둘", "셋", "넷"]))
    stream.pending = Final("하나 둘 셋 넷", 0.0, 6.5, words)  # a slow speaker's answer
    await silence_until_the_turn_ends(listener, stream, ended)
    listener.take(EndedBy.SILENCE)
    assert listener.rule.earlier_pauses == [1.5, 1.5, 1.5]
    assert listener.rule.evidence().threshold_s == 2.25  # 1.5 x their upper quartile


async def test_without_the_models_sessions_use_the_fixed_rule_with_one_warning(
    settings, tmp_path, caplog
):
    settings.RT = replace(settings.RT, turn_models_dir=str(tmp_path), turn_rule="signals")
    forget_turn_models()
    try:
        with caplog.at_level(logging.WARNING, logger="live.listener"):
            for _ in range(3):
                listener, _ = await started()
                assert listener.kind == "silence" and listener.rule is None
        warnings = [r for r in caplog.records if r.name == "live.listener"]
        assert len(warnings) == 1 and "fixed silence rule" in warnings[0].getMessage()
        assert "ensure_turn_models" in warnings[0].reason
    finally:
        forget_turn_models()


def test_the_installed_models_load():
    models = turn_models()
    assert models is not None and models.smart_turn is not None
