"""Shared fixtures: users, API clients, a ready session."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from interviews import services

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(reachable: bool, reason: str) -> None:
    """Skip with a reason outside CI; in CI a missing service is a failure."""
    if reachable:
        return
    if IN_CI:
        pytest.fail(f"required service unavailable in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_user("staff", password="pw-staff-123", is_staff=True)


@pytest.fixture
def plain_user(db):
    return get_user_model().objects.create_user("plain", password="pw-plain-123")


@pytest.fixture
def staff_token(staff_user):
    return Token.objects.create(user=staff_user).key


@pytest.fixture
def plain_token(plain_user):
    return Token.objects.create(user=plain_user).key


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def staff_client(staff_token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {staff_token}")
    return client


@pytest.fixture
def plain_client(plain_token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plain_token}")
    return client


@pytest.fixture
def interviewer(db):
    return services.create_interviewer(name="John Doe", email="john@example.com")


@pytest.fixture
def student(db):
    return services.create_student(name="Jane Smith", email="jane@example.com")


@pytest.fixture
def session(interviewer, student):
    session = services.create_session(
        interviewer=interviewer,
        student=student,
        title="Software Engineer Interview",
        duration_minutes=30,
    )
    services.bulk_create_questions(
        items=[
            {
                "session": session,
                "question_text": "Tell me about yourself",
                "category": "Introduction",
                "difficulty": "easy",
                "order": 1,
            },
            {
                "session": session,
                "question_text": "What are your strengths?",
                "category": "Behavioral",
                "difficulty": "medium",
                "order": 2,
                "expected_answer": "Concrete strengths backed by examples",
            },
        ]
    )
    return session
