"""The original README's ten steps against a live daphne server, over HTTP,
with the token header (the in-process version is tests/api/test_usage_flow.py)."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.server import LiveServer

pytestmark = pytest.mark.e2e


def test_ten_steps_over_http(tmp_path):
    server = LiveServer(tmp_path, tmp_path)
    server.prepare()
    server.start()
    try:
        h = {"Authorization": f"Token {server.login_token()}"}
        api = f"{server.base}/api"
        with httpx.Client(headers=h, timeout=30) as c:
            i = c.post(
                f"{api}/interviewers/", json={"name": "John Doe", "email": "john@example.com"}
            )
            s = c.post(f"{api}/students/", json={"name": "Jane Smith", "email": "jane@example.com"})
            assert (i.status_code, s.status_code) == (201, 201)
            r = c.post(
                f"{api}/sessions/",
                json={
                    "title": "Software Engineer Interview",
                    "interviewer_id": i.json()["id"],
                    "student_id": s.json()["id"],
                    "duration_minutes": 30,
                    "scheduled_at": "2026-02-01T10:00:00Z",
                },
            )
            assert r.status_code == 201
            pk, sid = r.json()["id"], r.json()["session_id"]
            questions = [
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
            assert (
                c.post(f"{api}/questions/bulk_create/", json={"questions": questions}).status_code
                == 201
            )
            assert c.post(f"{api}/sessions/{pk}/start/").json()["status"] == "in_progress"
            hello = c.post(f"{api}/ai-interview/", json={"action": "initialize", "session_id": sid})
            assert hello.status_code == 200 and "Tell me about yourself" in hello.json()["message"]
            reply = c.post(
                f"{api}/ai-interview/",
                json={
                    "action": "respond",
                    "session_id": sid,
                    "student_response": "I am a passionate software engineer who builds real-time systems.",
                },
            )
            assert (
                reply.status_code == 200 and "What are your strengths?" in reply.json()["message"]
            )
            bye = c.post(f"{api}/ai-interview/", json={"action": "end", "session_id": sid})
            assert bye.status_code == 200 and bye.json()["interview_closed"] is True
            assert c.post(f"{api}/sessions/{pk}/end/").json()["status"] == "completed"
            report = c.post(f"{api}/reports/generate/", json={"session_id": sid})
            assert report.status_code == 201
            pdf = c.get(report.json()["download_url"])
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
            assert pdf.headers["content-type"] == "application/pdf"
            anonymous = httpx.get(f"{api}/sessions/", timeout=10)
            assert anonymous.status_code == 401 and anonymous.json()["detail"]
    finally:
        server.stop()
