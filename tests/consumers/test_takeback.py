"""Take-back (docs/protocol.md, "Take-back") through the candidate's socket with
real speech: an answer that silence cut in a pause goes on when the candidate
speaks again within the grace window, and ends as one answer with one reply.

Audio goes faster than real time: the turn rule and the grace window run on
audio time, so only the decoder's speed sets the pace. The resumed half is sent
once the first half's reply has arrived, so that reply exists to be taken back.
"""

from __future__ import annotations

import asyncio
import io
import wave
from dataclasses import replace

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from interviews import services
from interviews.models import Conversation, InterviewSession
from live import ai_turns
from speech.model_registry import registry
from speech.transcribe import transcribe_pcm
from speech.warm import warm
from tests.audio_fixtures import (
    KOREAN_ANSWER,
    KOREAN_SHORT,
    SAME_DECODE_AGREEMENT,
    frames,
    same_dither,
    silence,
    speak,
    word_agreement,
)

from .helpers import cand, connect, drain, events_until, started

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.speech]

TAKE_BACK_TYPES = {"turn.committed", "ai.message", "turn.reopened", "ai.cancelled"}
# An answer committed and answered, reopened (its reply taken back), committed
# and answered again.
TAKEN_BACK_ONCE = [
    "turn.committed",
    "ai.message",
    "turn.reopened",
    "ai.cancelled",
    "turn.committed",
    "ai.message",
]
FIRST = KOREAN_ANSWER
SECOND = KOREAN_SHORT
BYTES_PER_S = 32000


@pytest.fixture(scope="module", autouse=True)
def korean_model():
    registry.model_for("ko")


async def offline_words(text: str) -> str:
    """Vosk's own offline decoding of `text` spoken, with the dither noise
    the live decode had (reseeded before each, both on new recognisers)."""
    same_dither()
    return (await transcribe_pcm(speak(text), 16000, "ko"))["text"]


@pytest.fixture(autouse=True)
def fast_audio(settings):
    # The test streams faster than real time: let the frames queue.
    settings.RT = replace(settings.RT, audio_max_queued_frames=10_000)


@pytest.fixture(autouse=True)
def fresh_recogniser():
    """Live speech starts on a new recogniser, as the offline decode does,
    whatever earlier tests in this worker left in the store."""
    warm.clear()
    yield
    warm.clear()


async def stream(comm, pcm: bytes) -> None:
    for frame in frames(pcm):
        await comm.send_to(bytes_data=frame)
        await asyncio.sleep(0)


def seen_seq(events: list[dict], kind: str) -> int:
    return next(e["seq"] for e in events if e["type"] == kind)


def kinds(events: list[dict]) -> list[tuple[str, int | None]]:
    return [(e["type"], e.get("conversation_id")) for e in events if e["type"] in TAKE_BACK_TYPES]


@database_sync_to_async
def rows(session, *, retracted: bool | None = None) -> list[Conversation]:
    qs = Conversation.objects.filter(session=session).order_by("id")
    return list(qs if retracted is None else qs.filter(retracted=retracted))


@database_sync_to_async
def plan_state(session) -> dict:
    state = dict(InterviewSession.objects.get(pk=session.pk).ai_state)
    state.pop("question_started_s", None)  # a wall-clock time
    return state


async def api_list(client, session, extra: str = "") -> list[dict]:
    response = await sync_to_async(client.get)(
        f"/api/conversations/?session_id={session.session_id}&page_size=50{extra}"
    )
    assert response.status_code == 200, response.content
    return response.json()["results"]


def wav_seconds(row: Conversation) -> float:
    with row.audio_file.open("rb") as f, wave.open(io.BytesIO(f.read())) as w:
        return w.getnframes() / w.getframerate()


async def typed_control(interviewer, student, text: str) -> dict:
    """The plan state after one uninterrupted answer `text` in a fresh session."""
    other = await database_sync_to_async(services.create_session)(
        interviewer=interviewer, student=student, title="Control"
    )
    await database_sync_to_async(services.bulk_create_questions)(
        items=[
            {"session": other, "question_text": "Tell me about yourself", "order": 1},
            {"session": other, "question_text": "What are your strengths?", "order": 2},
        ]
    )
    comm = await connect(cand(other))
    await comm.send_json_to({"type": "interview.start"})
    await events_until(comm, "ai.message")
    await comm.send_json_to({"type": "answer.text", "text": text})
    await events_until(comm, "ai.message")
    await comm.disconnect()
    return await plan_state(other)


@pytest.mark.parametrize("pause_s", [1.6, 2.0, 2.5, 3.0])
async def test_a_pause_between_two_halves_ends_as_one_answer_with_one_reply(
    session, staff_client, interviewer, student, pause_s
):
    candidate = await started(session)
    first, second = speak(FIRST), speak(SECOND)
    before = first + silence(pause_s)
    after = second + silence(2.0)
    same_dither()  # as offline_words does: the same noise on the first half
    await stream(candidate, before)
    # Silence ended the answer inside the pause: it was committed and answered.
    got = await events_until(candidate, "ai.message", wait=30)
    await stream(candidate, after)
    got += await events_until(candidate, "ai.message", wait=30)
    got += await drain(candidate, 0.3)
    await candidate.disconnect()

    seen = kinds(got)
    assert [k for k, _ in seen] == TAKEN_BACK_ONCE, seen
    answer_id, cancelled_id, reply_id = seen[0][1], seen[1][1], seen[5][1]
    assert seen[2][1] == seen[4][1] == answer_id and seen[3][1] == cancelled_id
    # The whole answer: the first half as committed, then the recogniser's
    # finals of the second half, as it decoded them.
    committed = [e for e in got if e["type"] == "turn.committed"]
    # (A final of the second half may be recorded before `turn.reopened`: the
    # input task records finals, the AI task the take-back.)
    first_reply = seen_seq(got, "ai.message")
    later = [e["text"] for e in got if e["type"] == "transcript.final" and e["seq"] > first_reply]
    whole = committed[-1]["text"]
    assert later and whole.split() == committed[0]["text"].split() + " ".join(later).split()
    # The first half is what Vosk makes of it offline (the second, short one
    # decodes differently with any change of context, even of silence before it).
    first_offline = await offline_words(FIRST)
    assert word_agreement(committed[0]["text"], first_offline) >= SAME_DECODE_AGREEMENT

    # The conversation as the API shows it: greeting, ONE answer, ONE reply.
    listed = await api_list(staff_client, session)
    assert [(r["speaker"], r["id"]) for r in listed] == [
        ("ai", listed[0]["id"]),
        ("student", answer_id),
        ("ai", reply_id),
    ]
    assert listed[1]["message"] == whole and not any(r["retracted"] for r in listed)
    everything = await api_list(staff_client, session, "&include_retracted=true")
    assert [(r["id"], r["retracted"]) for r in everything] == [
        (listed[0]["id"], False),
        (answer_id, False),
        (cancelled_id, True),
        (reply_id, False),
    ]

    # One recording for the whole answer: both halves and the pause between.
    answer = (await rows(session, retracted=False))[1]
    spoken_s = (len(first) + len(silence(pause_s)) + len(second)) / BYTES_PER_S
    assert spoken_s - 0.2 <= wav_seconds(answer) <= (len(before) + len(after)) / BYTES_PER_S
    assert answer.speech["words"] and answer.speech["ended_by"] == "silence"

    # The plan is where one uninterrupted answer of the same words leaves it.
    assert await plan_state(session) == await typed_control(interviewer, student, whole)


async def resume_after(candidate, pcm: bytes) -> list[dict]:
    """Speak `pcm` (ending in silence) and read up to the reply to it."""
    await stream(candidate, pcm)
    got = await events_until(candidate, "ai.message", wait=30)
    return got + await drain(candidate, 0.3)


def two_answers(seen: list[tuple[str, int | None]]) -> None:
    types = [k for k, _ in seen]
    assert types == ["turn.committed", "ai.message", "turn.committed", "ai.message"], seen
    assert seen[0][1] != seen[2][1]


async def first_half_answered(candidate, end: str | None = None) -> list[dict]:
    if end is None:
        await stream(candidate, speak(FIRST) + silence(2.0))
    elif end == "turn.end":
        await stream(candidate, speak(FIRST) + silence(0.3))
        await candidate.send_json_to({"type": "turn.end"})
    return await events_until(candidate, "ai.message", wait=30)


async def test_not_reopened_once_the_browser_spoke_the_reply(session):
    candidate = await started(session)
    got = await first_half_answered(candidate)
    reply = got[-1]["conversation_id"]
    await candidate.send_json_to({"type": "ai.spoken", "conversation_id": reply})
    got += await resume_after(candidate, speak(SECOND) + silence(2.0))
    await candidate.disconnect()
    two_answers(kinds(got))
    assert not await rows(session, retracted=True)


async def test_not_reopened_after_turn_end(session):
    candidate = await started(session)
    got = await first_half_answered(candidate, end="turn.end")
    got += await resume_after(candidate, speak(SECOND) + silence(2.0))
    await candidate.disconnect()
    two_answers(kinds(got))


async def test_not_reopened_after_a_turn_end_that_came_since(session):
    """Silence ended the answer, then the candidate pressed the button (with
    nothing more said): the answer is settled, new speech is the next one."""
    candidate = await started(session)
    got = await first_half_answered(candidate)
    await candidate.send_json_to({"type": "turn.end"})
    got += await resume_after(candidate, speak(SECOND) + silence(2.0))
    await candidate.disconnect()
    two_answers(kinds(got))


async def test_not_reopened_after_a_typed_answer(session):
    candidate = await started(session)
    await candidate.send_json_to({"type": "answer.text", "text": "I write Python at work."})
    got = await events_until(candidate, "ai.message")
    got += await resume_after(candidate, silence(0.5) + speak(SECOND) + silence(2.0))
    await candidate.disconnect()
    two_answers(kinds(got))


async def test_speech_after_the_grace_window_is_the_next_answer(session, settings):
    settings.RT = replace(settings.RT, turn_takeback_grace_s=1.0)
    candidate = await started(session)
    # Committed 1.5 s into the 3 s pause: speech resumes 1.5 s later, after the 1 s grace.
    got = await events_until_reply(candidate, speak(FIRST) + silence(3.0))
    got += await resume_after(candidate, speak(SECOND) + silence(2.0))
    await candidate.disconnect()
    two_answers(kinds(got))
    assert not await rows(session, retracted=True)


async def events_until_reply(candidate, pcm: bytes) -> list[dict]:
    await stream(candidate, pcm)
    return await events_until(candidate, "ai.message", wait=30)


async def test_resuming_before_the_reply_starts_skips_it(session):
    """The candidate went on while the reply to the first half was still
    queued (the AI task was busy): it is never generated, so there is nothing
    to take back; the whole answer is committed once and answered once."""
    candidate = await connect(cand(session))
    await candidate.send_json_to({"type": "audio.config", "sample_rate": 16000})
    busy = ai_turns.session_lock(session.session_id)  # the greeting waits on it
    await busy.acquire()
    await candidate.send_json_to({"type": "interview.start"})
    before = speak(FIRST) + silence(2.0)
    await stream(candidate, before + speak(SECOND) + silence(2.0))
    # Until the second half's words are final: the first half was committed by
    # silence, the second reopened it and was committed by silence too.
    got = []
    while not any(
        e["type"] == "transcript.final" and e["start_s"] >= len(before) / BYTES_PER_S - 0.3
        for e in got
    ):
        got += await events_until(candidate, "transcript.final", wait=30)
    await asyncio.sleep(0.3)
    busy.release()
    got += await events_until(candidate, "ai.message", wait=30, count=2)
    got += await drain(candidate, 0.5)
    await candidate.disconnect()
    seen = kinds(got)
    assert [k for k, _ in seen] == ["ai.message", "turn.committed", "ai.message"], seen
    committed = next(e for e in got if e["type"] == "turn.committed")
    finals = [e["text"] for e in got if e["type"] == "transcript.final"]
    assert committed["text"].split() == " ".join(finals).split() and len(finals) >= 2
    standing = await rows(session)
    assert [(r.speaker, r.retracted) for r in standing] == [
        ("ai", False),
        ("student", False),
        ("ai", False),
    ]


async def test_a_reopened_answer_can_be_reopened_again(session, staff_client):
    candidate = await started(session)
    got = await events_until_reply(candidate, speak(FIRST) + silence(2.0))
    got += await events_until_reply(candidate, speak(SECOND) + silence(2.0))
    got += await resume_after(candidate, speak(FIRST) + silence(2.0))
    await candidate.disconnect()
    seen = kinds(got)
    answer = seen[0][1]
    assert [k for k, _ in seen] == ["turn.committed", "ai.message"] + 2 * [
        "turn.reopened",
        "ai.cancelled",
        "turn.committed",
        "ai.message",
    ], seen
    assert {i for k, i in seen if k in {"turn.committed", "turn.reopened"}} == {answer}
    listed = await api_list(staff_client, session)
    assert [r["speaker"] for r in listed] == ["ai", "student", "ai"]
    assert listed[1]["message"] == [e for e in got if e["type"] == "turn.committed"][-1]["text"]
    assert len(await rows(session, retracted=True)) == 2


async def test_interview_end_keeps_the_reopened_answer_whole_and_unanswered(session):
    candidate = await started(session)
    got = await events_until_reply(candidate, speak(FIRST) + silence(2.0))
    await stream(candidate, speak(SECOND) + silence(0.3))
    await candidate.send_json_to({"type": "interview.end"})
    got += await events_until(candidate, "interview.ended", wait=30)
    await candidate.disconnect()
    types = [k for k, _ in kinds(got)]
    assert types[:4] == ["turn.committed", "ai.message", "turn.reopened", "ai.cancelled"]
    students = [r for r in await rows(session) if r.speaker == "student"]
    assert len(students) == 1 and students[0].speech["unanswered"] is True
    first_text = next(e for e in got if e["type"] == "turn.committed")["text"]
    assert students[0].message.startswith(first_text) and len(students[0].message) > len(first_text)


@pytest.mark.parametrize("value", ["12", 0, None, True])
async def test_ai_spoken_needs_a_conversation_id(session, value):
    candidate = await connect(cand(session))
    await candidate.send_json_to({"type": "ai.spoken", "conversation_id": value})
    error = (await events_until(candidate, "error"))[-1]
    assert error["code"] == "bad_field" and "conversation_id" in error["message"]
    await candidate.disconnect()


# --- "Give me a moment" (turn.hold) just after silence ended the answer -------------


async def test_hold_after_silence_ended_the_answer_reopens_it_and_waits(session, staff_client):
    """The rule ended a sentence-final pause before the candidate could press
    "Give me a moment": the hold reopens the answer, no silence ends it while
    they think (longer than the grace window), and what they say next joins it."""
    candidate = await started(session)
    got = await events_until_reply(candidate, speak(FIRST) + silence(1.2))
    await candidate.send_json_to({"type": "turn.hold"})
    await stream(candidate, silence(6.0))
    got += await drain(candidate, 1.0)
    # Reopened at the hold, and nothing committed in the six quiet seconds.
    assert [k for k, _ in kinds(got)] == TAKEN_BACK_ONCE[:4], kinds(got)
    got += await resume_after(candidate, speak(SECOND) + silence(2.0))
    await candidate.disconnect()

    seen = kinds(got)
    assert [k for k, _ in seen] == TAKEN_BACK_ONCE, seen
    answer_id = seen[0][1]
    assert seen[2][1] == seen[4][1] == answer_id
    committed = [e for e in got if e["type"] == "turn.committed"]
    first_reply = seen_seq(got, "ai.message")
    later = [e["text"] for e in got if e["type"] == "transcript.final" and e["seq"] > first_reply]
    assert later and committed[-1]["text"].split() == (
        committed[0]["text"].split() + " ".join(later).split()
    )
    listed = await api_list(staff_client, session)
    assert [(r["speaker"], r["message"]) for r in listed[1:]] == [
        ("student", committed[-1]["text"]),
        ("ai", listed[2]["message"]),
    ]
    assert listed[2]["id"] == seen[5][1]
    answer = (await rows(session, retracted=False))[1]
    assert answer.speech["ended_by"] == "silence"
    # One recording: the first half, the held pause and the second half.
    assert wav_seconds(answer) >= (len(speak(FIRST)) + len(silence(6.0))) / BYTES_PER_S


async def test_hold_then_turn_end_commits_the_reopened_answer_whole(session):
    """Reopened by a hold, then "Done" with nothing more said: the same answer,
    whole, is committed and answered again (not dropped as silence)."""
    candidate = await started(session)
    got = await events_until_reply(candidate, speak(FIRST) + silence(1.2))
    await candidate.send_json_to({"type": "turn.hold"})
    await stream(candidate, silence(1.0))
    await candidate.send_json_to({"type": "turn.end"})
    got += await events_until(candidate, "ai.message", wait=30)
    got += await drain(candidate, 0.3)
    await candidate.disconnect()
    seen = kinds(got)
    assert [k for k, _ in seen] == TAKEN_BACK_ONCE, seen
    committed = [e for e in got if e["type"] == "turn.committed"]
    assert committed[0]["conversation_id"] == committed[1]["conversation_id"]
    assert committed[1]["text"] == committed[0]["text"]
    students = [r for r in await rows(session) if r.speaker == "student"]
    assert [(s.message, s.speech["ended_by"]) for s in students] == [
        (committed[0]["text"], "turn.end")
    ]


async def test_hold_after_the_reply_was_spoken_does_not_reopen(session):
    """The browser had spoken the reply: a hold then is for the next answer."""
    candidate = await started(session)
    got = await first_half_answered(candidate)
    reply = got[-1]["conversation_id"]
    await candidate.send_json_to({"type": "ai.spoken", "conversation_id": reply})
    await candidate.send_json_to({"type": "turn.hold"})
    await stream(candidate, silence(1.0))
    got += await resume_after(candidate, speak(SECOND) + silence(2.0))
    await candidate.disconnect()
    two_answers(kinds(got))
    assert not await rows(session, retracted=True)


async def test_a_hold_well_after_the_commit_is_for_the_next_answer(session):
    """Past RT_TURN_HOLD_REOPEN_S the interviewer's next question may be on
    screen: the hold does not take it back, and what follows is a new answer."""
    candidate = await started(session)
    got = await events_until_reply(candidate, speak(FIRST) + silence(1.2))
    # The rule committed about 0.76 s into the pause: 2.5 s more is past 2 s.
    await stream(candidate, silence(2.5))
    await candidate.send_json_to({"type": "turn.hold"})
    got += await resume_after(candidate, speak(SECOND) + silence(2.0))
    await candidate.disconnect()
    two_answers(kinds(got))
    assert not await rows(session, retracted=True)
