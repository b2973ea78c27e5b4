"""The original README's ten-step usage flow, with a token header."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_backend]


def test_original_usage_flow_steps_1_to_10(staff_client):
    c = staff_client
    r = c.post(
        "/api/interviewers/", {"name": "John Doe", "email": "john@example.com"}, format="json"
    )
    assert r.status_code == 201, r.content
    interviewer_id = r.json()["id"]
    r = c.post("/api/students/", {"name": "Jane Smith", "email": "jane@example.com"}, format="json")
    assert r.status_code == 201, r.content
    student_id = r.json()["id"]
    r = c.post(
        "/api/sessions/",
        {
            "title": "Software Engineer Interview",
            "interviewer_id": interviewer_id,
            "student_id": student_id,
            "duration_minutes": 30,
            "scheduled_at": "2026-02-01T10:00:00Z",
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    pk, uuid = body["id"], body["session_id"]
    assert body["status"] == "scheduled"
    assert body["interviewer"]["name"] == "John Doe"
    assert body["student"]["name"] == "Jane Smith"
    assert f"/join/{uuid}/?token=" in body["join_url"]

    r = c.post(
        "/api/questions/bulk_create/",
        {
            "questions": [
                {
                    "session": pk,
                    "question_text": "Tell me about yourself",
                    "category": "Introduction",
                    "difficulty": "easy",
                    "order": 1,
                },
                {
                    "session": pk,
                    "question_text": "What are your strengths?",
                    "category": "Behavioral",
                    "difficulty": "medium",
                    "order": 2,
                },
            ]
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    assert [q["question_text"] for q in r.json()] == [
        "Tell me about yourself",
        "What are your strengths?",
    ]

    r = c.post(f"/api/sessions/{pk}/start/")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "in_progress" and r.json()["started_at"]

    r = c.post("/api/ai-interview/", {"action": "initialize", "session_id": uuid}, format="json")
    assert r.status_code == 200, r.content
    greeting = r.json()
    assert "Jane Smith" in greeting["message"] and "Tell me about yourself" in greeting["message"]

    r = c.post(
        "/api/ai-interview/",
        {
            "action": "respond",
            "session_id": uuid,
            "student_response": "I am a passionate software engineer who builds real-time systems in Python and Go.",
        },
        format="json",
    )
    assert r.status_code == 200, r.content
    assert "What are your strengths?" in r.json()["message"]

    r = c.post("/api/ai-interview/", {"action": "end", "session_id": uuid}, format="json")
    assert r.status_code == 200, r.content
    assert "Thank you" in r.json()["message"] and r.json()["interview_closed"] is True

    r = c.post(f"/api/sessions/{pk}/end/")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "completed" and r.json()["ended_at"]

    r = c.post("/api/reports/generate/", {"session_id": uuid}, format="json")
    assert r.status_code == 201, r.content
    report = r.json()
    assert report["download_url"].endswith(f"/api/reports/{report['id']}/download/")

    r = c.get(f"/api/reports/{report['id']}/download/")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/pdf"
    assert 'filename="interview-jane-smith-' in r["Content-Disposition"]
    text = "\n".join(
        p.extract_text() for p in PdfReader(io.BytesIO(b"".join(r.streaming_content))).pages
    )
    assert "Jane Smith" in text and "What are your strengths?" in text

    r = c.get(f"/api/conversations/?session_id={uuid}")
    speakers = [row["speaker"] for row in r.json()["results"]]
    assert speakers == ["ai", "student", "ai", "ai"]
