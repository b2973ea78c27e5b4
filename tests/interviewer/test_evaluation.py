"""The end-of-interview evaluation: heuristic without an LLM, structured LLM
output with one repair, fallbacks, storage and the REST endpoint."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import override_settings

from interviewer import evaluation
from interviews import services
from interviews.models import Conversation, InterviewSession, SessionEvent
from live import ai_turns
from live.frames import Turn
from tests.fakes.interview import LONG_ANSWER, question_ids
from tests.fakes.openai_server import Fault, Reply

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["tests.fakes.fixtures"]

GOOD = (
    "I would reproduce it under load first, then compare tracemalloc snapshots over time "
    "to see which allocations grow, inspect reference cycles with the gc module, check "
    "caches and global registries that never evict, and after the fix add a regression test."
)
FILLER = "Um, uh, you know, I would, um, like, uh, look at it, you know, um, basically."


def _answer_all(session, answers: list[str], *, close: bool = True) -> None:
    """Play the interview through the scripted interviewer (sync, for REST tests)."""
    sid = session.session_id
    async_to_sync(ai_turns.initialize)(sid)
    for text in answers:
        async_to_sync(ai_turns.respond)(sid, Turn(text=text))
    if close:
        async_to_sync(ai_turns.end)(sid, "ended by test")


def _eval_reply(ids: list[int], **extra) -> Reply:
    body = {
        "questions": [
            {"question_id": q, "score": 4, "rationale": "Specific and correct.", "seqs": []}
            for q in ids
        ],
        "strengths": ["Clear structure"],
        "concerns": [],
        "recommendation": "yes",
        "summary": "A good interview.",
        **extra,
    }
    return Reply(json.dumps(body))


# --- heuristic ------------------------------------------------------------------------


def test_heuristic_evaluation_is_labelled_and_scores_by_coverage(no_llm, planned_session):
    _answer_all(planned_session, [LONG_ANSWER, "Hard work.", "Concrete strengths? No idea.", GOOD])
    planned_session.refresh_from_db()
    ev = evaluation.validate(planned_session.evaluation)
    assert ev["kind"] == "heuristic" and ev["model"] == "heuristic-v1"
    assert ev["summary"].startswith("Heuristic evaluation, made without a language model")
    by_id = {q["question_id"]: q for q in ev["questions"]}
    q1, q2, q3 = [q.pk for q in planned_session.questions.order_by("order")]
    assert by_id[q3]["score"] >= 4  # covers the expected answer, long enough
    assert by_id[q2]["score"] <= 2  # short, misses the key terms
    assert by_id[q3]["score"] > by_id[q2]["score"]
    assert "key terms of the expected answer" in by_id[q3]["rationale"]
    assert "no expected answer to compare with" in by_id[q1]["rationale"]
    seqs = set(
        Conversation.objects.filter(session=planned_session, question_id=q3).values_list(
            "seq", flat=True
        )
    )
    assert set(by_id[q3]["seqs"]) == seqs
    assert ev["overall_score"] == pytest.approx(
        sum(q["score"] for q in ev["questions"]) / 3, abs=0.01
    )


def test_heuristic_penalises_filler_words(no_llm, interviewer, student):
    from tests.fakes.interview import make_session

    plain = make_session(interviewer, student)
    filler = make_session(interviewer, student)
    _answer_all(plain, [LONG_ANSWER, LONG_ANSWER, GOOD])
    _answer_all(filler, [LONG_ANSWER, LONG_ANSWER, f"{FILLER} {GOOD} {FILLER}"])
    plain.refresh_from_db()
    filler.refresh_from_db()
    assert plain.evaluation["questions"][2]["score"] > filler.evaluation["questions"][2]["score"]
    assert "filler" in " ".join(filler.evaluation["concerns"]).lower()


def test_unreached_questions_are_named_as_a_concern(no_llm, planned_session):
    _answer_all(planned_session, [LONG_ANSWER])  # then ended: question 3 never asked
    planned_session.refresh_from_db()
    ev = planned_session.evaluation
    assert len(ev["questions"]) == 2
    assert "1 planned question(s) were not reached." in ev["concerns"]


# --- LLM -----------------------------------------------------------------------------------


async def _closed_with_llm(server, session, eval_replies) -> dict:
    sid = session.session_id
    server.script(Reply("Hello Jane Smith. Tell me about yourself."))
    await ai_turns.initialize(sid)
    server.script(Reply("Thank you. What are your strengths?"))
    await ai_turns.respond(sid, Turn(text=LONG_ANSWER))
    server.script(Reply("Thank you for your time, Jane."), *eval_replies)
    await ai_turns.end(sid, "ended by test")
    await evaluation.await_pending(sid)
    await session.arefresh_from_db()
    return session.evaluation


async def test_invalid_json_is_repaired_once(fake_llm, planned_session):
    q1, q2, _ = await question_ids(planned_session)
    ev = await _closed_with_llm(
        fake_llm, planned_session, [Reply("Here is the evaluation: {oops"), _eval_reply([q1, q2])]
    )
    assert ev["kind"] == "llm"
    repair = fake_llm.requests[-1].messages
    assert repair[-2] == {"role": "assistant", "content": "Here is the evaluation: {oops"}
    assert "not valid" in repair[-1]["content"]
    assert await SessionEvent.objects.filter(type="observer.warning").acount() == 0


async def test_wrong_question_ids_are_repaired(fake_llm, planned_session):
    q1, q2, q3 = await question_ids(planned_session)
    ev = await _closed_with_llm(
        fake_llm, planned_session, [_eval_reply([q1, q3]), _eval_reply([q1, q2])]
    )
    assert ev["kind"] == "llm"
    assert f"exactly the question ids [{q1}, {q2}]" in fake_llm.requests[-1].messages[-1]["content"]


async def test_invented_seqs_are_dropped(fake_llm, planned_session):
    q1, q2, _ = await question_ids(planned_session)
    reply = _eval_reply([q1, q2])
    body = json.loads(reply.text)
    body["questions"][0]["seqs"] = [99999, 2]
    ev = await _closed_with_llm(fake_llm, planned_session, [Reply(json.dumps(body))])
    known = {c.seq async for c in Conversation.objects.filter(session=planned_session)}
    assert ev["kind"] == "llm"
    assert 99999 not in ev["questions"][0]["seqs"]
    assert set(ev["questions"][0]["seqs"]) <= known and ev["questions"][0]["seqs"]


async def test_invalid_twice_keeps_the_heuristic_and_warns(fake_llm, planned_session):
    ev = await _closed_with_llm(
        fake_llm, planned_session, [Reply("not json"), Reply('{"questions": "nope"}')]
    )
    assert ev["kind"] == "heuristic"
    warning = await SessionEvent.objects.filter(type="observer.warning").alast()
    assert warning.payload["code"] == "evaluation_fallback"
    assert warning.audience == "observers"


async def test_model_down_keeps_the_heuristic(fake_llm, planned_session):
    faults = [Fault("status", status=500), Fault("bad_body")]
    ev = await _closed_with_llm(fake_llm, planned_session, faults)
    assert ev["kind"] == "heuristic"
    assert await SessionEvent.objects.filter(type="observer.warning").acount() == 1


async def test_closing_words_do_not_wait_for_the_evaluation(fake_llm, planned_session):
    q1, q2, _ = await question_ids(planned_session)
    sid = planned_session.session_id
    fake_llm.script(Reply("Hello Jane Smith. Tell me about yourself."))
    await ai_turns.initialize(sid)
    fake_llm.script(Reply("Thank you. What are your strengths?"))
    await ai_turns.respond(sid, Turn(text=LONG_ANSWER))
    eval_delay_s = 2.0
    slow_eval = Reply(_eval_reply([q1, q2]).text, delay_s=eval_delay_s)
    fake_llm.script(Reply("Thank you for your time, Jane."), slow_eval)
    started = time.perf_counter()
    closing = await ai_turns.end(sid, "ended by test")
    assert time.perf_counter() - started < eval_delay_s
    assert closing.text == "Thank you for your time, Jane."
    await planned_session.arefresh_from_db()
    assert planned_session.evaluation["kind"] == "heuristic"  # stored at once
    assert evaluation.pending(sid)
    await evaluation.await_pending(sid)
    await planned_session.arefresh_from_db()
    assert planned_session.evaluation["kind"] == "llm"


# --- REST -----------------------------------------------------------------------------------


def test_evaluation_endpoint(no_llm, staff_client, anon_client, planned_session):
    url = f"/api/sessions/{planned_session.pk}/evaluation/"
    r = staff_client.get(url)
    assert r.status_code == 404 and r.json()["code"] == "not_evaluated"
    assert anon_client.get(url).status_code == 401
    _answer_all(planned_session, [LONG_ANSWER, LONG_ANSWER])
    r = staff_client.get(f"/api/sessions/{planned_session.session_id}/evaluation/")
    assert r.status_code == 200
    body = r.json()
    assert body["kind"] == "heuristic" and len(body["questions"]) == 3
    # POST recomputes and stores.
    services.save_evaluation(session=planned_session, evaluation=None)
    r = staff_client.post(url)
    assert r.status_code == 200 and r.json()["kind"] == "heuristic"
    assert InterviewSession.objects.get(pk=planned_session.pk).evaluation["kind"] == "heuristic"
    assert staff_client.get("/api/sessions/999999/evaluation/").status_code == 404


def test_evaluation_endpoint_with_llm(fake_llm, staff_client, planned_session):
    q1, q2, _ = [q.pk for q in planned_session.questions.order_by("order")]
    with override_settings(RT=replace(settings.RT, openai_api_key="")):
        _answer_all(planned_session, [LONG_ANSWER])
    fake_llm.script(_eval_reply([q1, q2]))
    r = staff_client.post(f"/api/sessions/{planned_session.pk}/evaluation/")
    assert r.status_code == 200, r.content
    assert r.json()["kind"] == "llm" and r.json()["recommendation"] == "yes"
