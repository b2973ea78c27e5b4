"""Helpers for interviewer tests: LLM settings pointing at the local server,
a planned session, and a listener on the session's channel-layer groups
(the fixtures are in fixtures.py)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

from interviews import events, services
from interviews.models import InterviewSession

from .openai_server import FakeOpenAI

# A roomy in-memory layer: a streamed reply is many ai.delta messages.
LAYERS = {
    "default": {
        "BACKEND": "channels.layers.InMemoryChannelLayer",
        "CONFIG": {"capacity": 100_000},
    }
}

QUESTIONS = [
    {
        "question_text": "Tell me about yourself",
        "category": "Introduction",
        "difficulty": "easy",
        "expected_answer": "",
    },
    {
        "question_text": "What are your strengths?",
        "category": "Behavioral",
        "difficulty": "medium",
        "expected_answer": "Concrete strengths backed by examples from recent projects",
    },
    {
        "question_text": "How would you find the cause of a memory leak in a Python service?",
        "category": "Technical",
        "difficulty": "hard",
        "expected_answer": (
            "Reproduce under load, compare tracemalloc snapshots over time, inspect "
            "reference cycles with gc, check caches and global registries, fix and add a "
            "regression test"
        ),
    },
]


def llm_settings(server: FakeOpenAI, **overrides: Any):
    return replace(
        settings.RT,
        openai_api_key="test-key",
        openai_base_url=server.base_url,
        openai_model="fake-model",
        llm_timeout_s=2.0,
        llm_retry_backoff_s=0.01,
        llm_eval_timeout_s=5.0,
        **overrides,
    )


def make_session(interviewer, student, *, questions=QUESTIONS, duration_minutes=30):
    session = services.create_session(
        interviewer=interviewer,
        student=student,
        title="Backend Engineer",
        description="Python services, PostgreSQL, on-call for production systems.",
        duration_minutes=duration_minutes,
        language="en",
    )
    services.bulk_create_questions(
        items=[{**q, "session": session, "order": i + 1} for i, q in enumerate(questions)]
    )
    return session


class Listener:
    """Receives what the session's candidate and observers would."""

    def __init__(self, session_uuid) -> None:
        self.session_uuid = session_uuid
        self.layer = get_channel_layer()
        self.channel = ""
        self.events: list[dict[str, Any]] = []

    async def start(self) -> Listener:
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(events.session_group(self.session_uuid), self.channel)
        await self.layer.group_add(events.observers_group(self.session_uuid), self.channel)
        return self

    async def drain(self) -> list[dict[str, Any]]:
        """Everything received since the last drain."""
        got = []
        while True:
            try:
                message = await asyncio.wait_for(self.layer.receive(self.channel), 0.05)
            except TimeoutError:
                break
            got.append(message["event"])
        self.events.extend(got)
        return got


def deltas(received: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for e in received if e["type"] == "ai.delta"]


def replies(received: list[dict[str, Any]]) -> list[str]:
    """The streamed text of each reply (the ai.delta chunks before each ai.message)."""
    out, parts = [], []
    for e in received:
        if e["type"] == "ai.delta":
            parts.append(e["text"])
        elif e["type"] == "ai.message":
            out.append("".join(parts).strip())
            parts = []
    return out


def of_type(received: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [e for e in received if e["type"] == type_]


LONG_ANSWER = (
    "I have spent six years building Python services; at my last company I led the "
    "migration of our billing system to PostgreSQL, wrote the rollout plan, paired with "
    "the on-call team and we cut incident volume by a third within two quarters."
)


async def question_ids(session: InterviewSession) -> list[int]:
    return [q.pk async for q in session.questions.order_by("order", "id")]
