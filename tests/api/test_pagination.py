"""Lists are pages: count, next, previous, results."""

from __future__ import annotations

import pytest

from interviews import services

pytestmark = [pytest.mark.django_db, pytest.mark.db_backend]


@pytest.fixture
def five_students(db):
    return [
        services.create_student(name=f"Student {i}", email=f"s{i}@example.com") for i in range(5)
    ]


def test_list_response_is_a_page(staff_client, five_students):
    r = staff_client.get("/api/students/")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 5 and body["next"] is None and body["previous"] is None
    assert [s["name"] for s in body["results"]] == [f"Student {i}" for i in range(5)]


def test_page_size_and_links(staff_client, five_students):
    first = staff_client.get("/api/students/?page_size=2").json()
    assert first["count"] == 5 and len(first["results"]) == 2 and first["previous"] is None
    assert first["next"].startswith("http://testserver/api/students/?page=2")
    second = staff_client.get(first["next"]).json()
    assert [s["name"] for s in second["results"]] == ["Student 2", "Student 3"]
    assert second["previous"] and second["next"]
    last = staff_client.get(second["next"]).json()
    assert [s["name"] for s in last["results"]] == ["Student 4"] and last["next"] is None


def test_page_size_is_capped(staff_client, db):
    for i in range(3):
        services.create_interviewer(name=f"I{i}", email=f"i{i}@example.com")
    body = staff_client.get("/api/interviewers/?page_size=100000").json()
    assert body["count"] == 3 and len(body["results"]) == 3


@pytest.mark.parametrize(
    "path",
    [
        "/api/interviewers/",
        "/api/students/",
        "/api/sessions/",
        "/api/questions/",
        "/api/conversations/",
        "/api/reports/",
    ],
)
def test_every_list_is_paginated(staff_client, session, path):
    body = staff_client.get(path).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == len(body["results"])


def test_sessions_list_newest_first(staff_client, interviewer, student):
    titles = ["First", "Second", "Third"]
    for title in titles:
        services.create_session(interviewer=interviewer, student=student, title=title)
    body = staff_client.get("/api/sessions/").json()
    assert [s["title"] for s in body["results"]] == titles[::-1]
