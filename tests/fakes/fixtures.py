"""Pytest fixtures for interviewer tests; a test module loads them with
``pytest_plugins = ["tests.fakes.fixtures"]``."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.conf import settings
from django.test import override_settings

from interviewer import client, evaluation
from interviews.models import InterviewSession

from .interview import LAYERS, llm_settings, make_session
from .openai_server import FakeOpenAI


@pytest.fixture
def fake_llm():
    """The local OpenAI-compatible server, configured as the interviewer's LLM."""
    with FakeOpenAI() as server, override_settings(RT=llm_settings(server), CHANNEL_LAYERS=LAYERS):
        yield server
        # Background evaluations read these settings: let them finish first.
        evaluation.wait(timeout=20)


@pytest.fixture
def no_llm():
    """The scripted interviewer, whatever the environment says."""
    with override_settings(RT=replace(settings.RT, openai_api_key=""), CHANNEL_LAYERS=LAYERS):
        yield
        evaluation.wait(timeout=20)


@pytest.fixture
def planned_session(interviewer, student) -> InterviewSession:
    """Three planned questions (one without, two with an expected answer), 30 minutes."""
    return make_session(interviewer, student)


@pytest.fixture(autouse=True)
async def close_llm_clients():
    """The test's event loop ends with it: close the interviewer's client first."""
    yield
    await client.close_client()
