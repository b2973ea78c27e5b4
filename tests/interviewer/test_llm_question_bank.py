"""The question bank endpoints: list it, build a session's plan from it, and
draft questions from a job description with the LLM (saved only on request)."""

from __future__ import annotations

import json

import pytest

from interviews import services
from interviews.models import Question
from tests.fakes.openai_server import Reply

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["tests.fakes.fixtures"]

BANK = [
    ("Explain database indexes.", "Technical", "easy", "Sorted structure for fast lookups"),
    ("Design a URL shortener.", "System design", "hard", "Hashing, storage, caching"),
    ("What is a race condition?", "Technical", "medium", "Unsynchronised shared state"),
    ("Explain the GIL.", "technical", "hard", "One thread runs bytecode at a time"),
    ("Tell me about a conflict.", "Behavioral", "medium", "Situation, action, result"),
]


@pytest.fixture
def bank():
    return [
        services.create_question(
            question_text=t, category=c, difficulty=d, expected_answer=e, session=None
        )
        for t, c, d, e in BANK
    ]


def test_bank_lists_only_questions_without_a_session(staff_client, bank, session):
    r = staff_client.get("/api/questions/bank/")
    assert r.status_code == 200
    texts = [q["question_text"] for q in r.json()["results"]]
    assert texts == [t for t, *_ in BANK]
    r = staff_client.get("/api/questions/bank/?category=TECHNICAL&difficulty=hard")
    assert [q["question_text"] for q in r.json()["results"]] == ["Explain the GIL."]


def test_from_bank_by_category_and_difficulty(staff_client, bank, session):
    before = session.questions.count()
    url = f"/api/sessions/{session.pk}/questions/from_bank/"
    r = staff_client.post(url, {"category": "technical", "count": 2}, format="json")
    assert r.status_code == 201, r.content
    created = r.json()
    assert [q["question_text"] for q in created] == [
        "Explain database indexes.",
        "What is a race condition?",
    ]
    assert all(q["session"] == session.pk for q in created)
    assert created[0]["expected_answer"] == "Sorted structure for fast lookups"
    assert session.questions.count() == before + 2
    orders = list(session.questions.order_by("order").values_list("order", flat=True))
    assert orders == sorted(set(orders)), "appended after the session's own questions"
    # The bank is unchanged, and asking again skips what the session already has.
    assert Question.objects.filter(session__isnull=True).count() == len(BANK)
    r = staff_client.post(url, {"category": "technical"}, format="json")
    assert [q["question_text"] for q in r.json()] == ["Explain the GIL."]
    r = staff_client.post(url, {"category": "technical"}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "no_match"


def test_from_bank_by_ids_keeps_their_order(staff_client, bank, session):
    ids = [bank[4].pk, bank[1].pk]
    r = staff_client.post(
        f"/api/sessions/{session.session_id}/questions/from_bank/",
        {"question_ids": ids},
        format="json",
    )
    assert r.status_code == 201
    assert [q["question_text"] for q in r.json()] == [
        "Tell me about a conflict.",
        "Design a URL shortener.",
    ]


def test_from_bank_refuses_bad_input(staff_client, anon_client, bank, session):
    url = f"/api/sessions/{session.pk}/questions/from_bank/"
    own = session.questions.first().pk  # a session's question is not in the bank
    r = staff_client.post(url, {"question_ids": [own, bank[0].pk]}, format="json")
    assert r.status_code == 400 and str(own) in r.json()["detail"]
    r = staff_client.post(url, {"question_ids": [bank[0].pk], "count": 2}, format="json")
    assert r.status_code == 400 and "question_ids" in r.json()
    r = staff_client.post(url, {"difficulty": "extreme"}, format="json")
    assert r.status_code == 400 and "difficulty" in r.json()
    assert (
        staff_client.post(
            "/api/sessions/424242/questions/from_bank/", {}, format="json"
        ).status_code
        == 404
    )
    assert anon_client.post(url, {}, format="json").status_code == 401
    assert session.questions.count() == 2


def test_generate_needs_an_llm(no_llm, staff_client):
    r = staff_client.post(
        "/api/questions/generate/", {"job_description": "Backend engineer"}, format="json"
    )
    assert r.status_code == 503
    assert r.json()["code"] == "llm_unavailable"
    assert "OPENAI_API_KEY" in r.json()["detail"]


DRAFTS = {
    "questions": [
        {
            "question_text": "How do you design an idempotent payment API?",
            "category": "System design",
            "difficulty": "hard",
            "expected_answer": "Idempotency keys, retries, exactly-once effects",
        },
        {
            "question_text": "How do you profile a slow Django view?",
            "category": "Technical",
            "difficulty": "medium",
            "expected_answer": "Django debug toolbar, query counts, cProfile",
        },
    ]
}
JOB = "Senior backend engineer for a payments platform: Python, Django, PostgreSQL."


def test_generate_returns_drafts_for_review_and_saves_nothing(fake_llm, staff_client):
    fake_llm.script(Reply(json.dumps(DRAFTS)))
    r = staff_client.post(
        "/api/questions/generate/", {"job_description": JOB, "count": 2}, format="json"
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["saved"] is False
    assert body["questions"] == DRAFTS["questions"]
    assert Question.objects.count() == 0
    request = fake_llm.requests[-1]
    assert JOB in request.messages[-1]["content"]
    assert "Write exactly 2 questions." in request.messages[-1]["content"]
    assert request.body["response_format"]["json_schema"]["name"] == "question_drafts"
    # Reviewed drafts go in through the ordinary bulk endpoint.
    r = staff_client.post(
        "/api/questions/bulk_create/", {"questions": body["questions"][:1]}, format="json"
    )
    assert r.status_code == 201 and Question.objects.filter(session__isnull=True).count() == 1


def test_generate_with_save_stores_into_the_bank_or_a_session(fake_llm, staff_client, session):
    fake_llm.script(Reply(json.dumps(DRAFTS)), Reply(json.dumps(DRAFTS)))
    r = staff_client.post(
        "/api/questions/generate/",
        {"job_description": JOB, "count": 2, "save": True, "difficulty": "hard"},
        format="json",
    )
    assert r.status_code == 201, r.content
    saved = r.json()["questions"]
    assert r.json()["saved"] is True and all(q["id"] and q["session"] is None for q in saved)
    assert {q["difficulty"] for q in saved} == {"hard"}, "a requested difficulty is kept"
    assert Question.objects.filter(session__isnull=True).count() == 2
    r = staff_client.post(
        "/api/questions/generate/",
        {"job_description": JOB, "count": 2, "save": True, "session": str(session.session_id)},
        format="json",
    )
    assert r.status_code == 201
    assert session.questions.count() == 4
    assert (
        "Write the questions and expected answers in"
        in fake_llm.requests[-1].messages[-1]["content"]
    )


def test_generate_reports_an_invalid_model_reply(fake_llm, staff_client):
    fake_llm.script(Reply("Sure! Here are some questions: 1. Why?"), Reply('{"questions": []}'))
    r = staff_client.post("/api/questions/generate/", {"job_description": JOB}, format="json")
    assert r.status_code == 502
    assert r.json()["code"] == "llm_failed"
    assert len(fake_llm.requests) == 2  # the request and one repair
    assert Question.objects.count() == 0


def test_generate_validates_input(fake_llm, staff_client):
    r = staff_client.post("/api/questions/generate/", {"count": 3}, format="json")
    assert r.status_code == 400 and "job_description" in r.json()
    r = staff_client.post(
        "/api/questions/generate/", {"job_description": JOB, "count": 50}, format="json"
    )
    assert r.status_code == 400 and "count" in r.json()
    assert fake_llm.requests == []


def test_openapi_schema_documents_the_bank_and_evaluation(staff_client):
    r = staff_client.get("/api/schema/?format=json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "post" in paths["/api/questions/generate/"]
    assert "post" in paths["/api/sessions/{id}/questions/from_bank/"]
    assert "get" in paths["/api/questions/bank/"]
    assert {"get", "post"} <= set(paths["/api/sessions/{id}/evaluation/"])
    generate = paths["/api/questions/generate/"]["post"]
    assert {"200", "201", "502", "503"} <= set(generate["responses"])
