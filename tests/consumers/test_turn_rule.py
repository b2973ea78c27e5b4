"""The turn rule live sessions use (RT_TURN_RULE, default "signals": Silero VAD,
Smart Turn, the words, the rhythm), through /ws/interview/ with the real Vosk
Korean model, the real turn models and espeak-ng speech sent in real time."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace

import pytest
from channels.db import database_sync_to_async

from interviews.models import Conversation, InterviewSession
from live.listener import forget_turn_models, turn_models
from speech.model_registry import registry
from tests.audio_fixtures import (
    KOREAN_SHORT,
    frames,
    silence,
    speak,
    white_noise,
)

from .helpers import drain, events_until, started

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.speech]

FRAME_S = 0.1
SHOWN = {"transcript.partial", "transcript.final", "turn.committed", "ai.message"}


@pytest.fixture(scope="module", autouse=True)
def korean_model():
    registry.model_for("ko")


async def paced(comm, pcm: bytes, until: str = "", count: int = 1) -> list[dict]:
    """Send `pcm` in 100 ms frames in real time, reading events meanwhile; stop
    once `count` events of type `until` have arrived. The events."""
    got: list[dict] = []
    start = time.perf_counter()
    for i, frame in enumerate(frames(pcm)):
        # receive_nothing, not a receive timeout: that would cancel the consumer.
        while (wait := start + i * FRAME_S - time.perf_counter()) > 0:
            if await comm.receive_nothing(timeout=wait, interval=0.005):
                break
            got.append(json.loads(await comm.receive_from()))
        if until and sum(e["type"] == until for e in got) >= count:
            break
        await comm.send_to(bytes_data=frame)
    return got


def committed(events: list[dict]) -> list[str]:
    return [e["text"] for e in events if e["type"] == "turn.committed"]


def student_rows(session) -> int:
    return Conversation.objects.filter(session=session, speaker="student").count()


async def test_three_seconds_of_white_noise_start_no_turn(session, settings):
    assert settings.RT.turn_rule == "signals" and turn_models() is not None  # the rule in force
    candidate = await started(session)
    got = await paced(candidate, white_noise(3.0, amplitude=0.1) + silence(1.0))
    got += await drain(candidate, 1.5)
    assert [e["type"] for e in got if e["type"] in SHOWN] == []
    assert await database_sync_to_async(student_rows)(session) == 0
    # Audio and controls are taken in order: once a typed answer is committed,
    # every frame before it has been decoded, and none of it joined the answer.
    await candidate.send_json_to({"type": "answer.text", "text": "typed"})
    got = await events_until(candidate, "turn.committed", wait=20)
    assert [e["type"] for e in got if e["type"] in SHOWN] == ["turn.committed"]
    assert committed(got) == ["typed"]
    await candidate.disconnect()


async def test_noise_after_an_answer_does_not_keep_the_turn_open(session):
    candidate = await started(session)
    noise_between = speak(KOREAN_SHORT) + white_noise(2.5, amplitude=0.1) + speak(KOREAN_SHORT)
    got = await paced(candidate, noise_between + silence(8.0), "turn.committed", count=2)
    # Two answers: the first was taken while the noise went on (in audio time).
    assert len(committed(got)) == 2 and all(committed(got)), [e["type"] for e in got]
    await candidate.disconnect()


async def test_the_accommodation_gives_the_candidate_more_time(session, caplog):
    await database_sync_to_async(
        lambda: InterviewSession.objects.filter(pk=session.pk).update(extra_time_s=2.0)
    )()
    candidate = await started(session)
    # A 2 s pause: the rule alone waits 0.75-3.75 s, this candidate gets 2 s more.
    with_pause = speak(KOREAN_SHORT) + silence(2.0) + speak(KOREAN_SHORT)
    with caplog.at_level(logging.INFO, logger="live.session"):
        got = await paced(candidate, with_pause + silence(8.0), "turn.committed")
        await drain(candidate, 0.5)
    # Both parts in it: the finals shown during the answer (the recogniser
    # ended an utterance in the pause), joined.
    finals = [e["text"] for e in got if e["type"] == "transcript.final"]
    assert len(finals) >= 2 and committed(got) == [" ".join(finals)], (finals, committed(got))
    (line,) = [r for r in caplog.records if r.getMessage() == "turn committed"]
    assert (line.rule, line.extra_time_s, line.ended_by) == ("signals", 2.0, "silence")
    assert line.silence_needed_s >= 0.6 + 2.0  # the rule's shortest wait, and the extra time
    assert 0.0 <= line.c <= 1.0 and 0.0 <= line.p_complete <= 1.0 and line.words_verdict
    await candidate.disconnect()


async def test_without_the_models_the_fixed_rule_ends_the_turn(session, settings, tmp_path, caplog):
    settings.RT = replace(settings.RT, turn_models_dir=str(tmp_path), turn_rule="signals")
    forget_turn_models()
    try:
        candidate = await started(session)
        # A 1 s pause after a sentence ending: the fixed 1.5 s rule keeps one answer.
        with_pause = speak(KOREAN_SHORT) + silence(1.0) + speak(KOREAN_SHORT)
        with caplog.at_level(logging.INFO):
            got = await paced(candidate, with_pause + silence(8.0), "turn.committed")
            got += await drain(candidate, 0.5)
        assert len(committed(got)) == 1
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert [r.getMessage() for r in warnings] == [
            "turn models unavailable: live sessions use the fixed silence rule"
        ]
        line = next(r for r in caplog.records if r.getMessage() == "turn committed")
        assert (line.rule, line.silence_needed_s) == ("silence", 1.5)
        await candidate.disconnect()
    finally:
        forget_turn_models()
