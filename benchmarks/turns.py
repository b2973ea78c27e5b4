"""Interviewer turn overhead and prompt size over a long interview.

Run: .venv/bin/python benchmarks/turns.py [--turns 50] [--questions 40]

Plays one interview through live.ai_turns.respond against the local
OpenAI-compatible server (tests/fakes/openai_server.py) answering with zero
delay, through the real `openai` async client, the reply check and the
database (a temporary SQLite file unless DATABASE_URL is set).

Prints:
- server overhead from the committed turn (its `turn.committed` broadcast)
  to the first `ai.delta` broadcast, p50/p95 over all turns (target: p50
  under 50 ms). This is everything the server adds before the candidate
  sees the reply start: loading the plan, building the prompt, the HTTP
  round trip to the model, SSE parsing, the first sentence's check.
- prompt tokens per turn (the server's `usage.prompt_tokens`) at turns 5, 20
  and 50 (target: turn 50 within 20% of turn 5: the prompt stays bounded).
Exit status 0 when both targets are met.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OVERHEAD_P50_TARGET_MS = 50.0
TOKEN_GROWTH_TARGET = 0.20
ANSWER = (
    "In my last role I owned the order service. We had slow checkouts at peak, so I "
    "profiled the hot paths, found an N+1 query pattern in the pricing code and a cache "
    "that was invalidated far too often. I rewrote the queries, added a short-lived cache "
    "with explicit invalidation on price changes, and load-tested the result; p95 latency "
    "fell from 900 to 250 milliseconds and we kept it there with a dashboard and alerts."
)
THIN = "I fixed it."
REPLY = (
    "Thank you, that is helpful to hear. Could you walk me through how you measured the "
    "improvement and what you would do differently next time?"
)


def setup_django(tmp: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interview_rt.settings.test")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def play(turns: int, questions: int) -> tuple[list[float], list[float], dict[int, int]]:
    from channels.db import database_sync_to_async

    from interviews import events, services
    from interviews.models import SessionEvent
    from live import ai_turns
    from live.frames import Turn

    @database_sync_to_async
    def make_session():
        interviewer = services.create_interviewer(name="John Doe", email="john@example.com")
        student = services.create_student(name="Jane Smith", email="jane@example.com")
        session = services.create_session(
            interviewer=interviewer,
            student=student,
            title="Senior Backend Engineer",
            description="Python services, PostgreSQL, on-call for a payments platform.",
            duration_minutes=600,
            language="en",
        )
        services.bulk_create_questions(
            items=[
                {
                    "session": session,
                    "question_text": f"Question {i}: tell me about a time you improved a "
                    f"system's reliability or speed (case {i}).",
                    "category": "Technical" if i % 2 else "Behavioral",
                    "difficulty": ("easy", "medium", "hard")[i % 3],
                    "order": i,
                    "expected_answer": f"Measured before and after, found the root cause, "
                    f"fixed it safely, monitored afterwards (case {i}).",
                }
                for i in range(1, questions + 1)
            ]
        )
        return session

    @database_sync_to_async
    def prompt_tokens_by_turn(session) -> dict[int, int]:
        rows = SessionEvent.objects.filter(session=session, type="metrics.turn").order_by("seq")
        return {i + 1: e.payload.get("llm_prompt_tokens") for i, e in enumerate(rows)}

    # Time stamps of what the server broadcasts (the moment a client would be sent it).
    sent: list[tuple[str, float]] = []
    original = events.abroadcast

    async def recording(message, **kwargs):
        sent.append((message["type"], time.perf_counter()))
        await original(message, **kwargs)

    events.abroadcast = recording
    session = await make_session()
    sid = session.session_id
    await ai_turns.initialize(sid)
    from_commit: list[float] = []
    from_call: list[float] = []
    for n in range(1, turns + 1):
        sent.clear()
        # Every third answer is thin (a follow-up comes); turns 5, 20 and 50 are full answers.
        text = THIN if n % 3 == 0 else ANSWER
        called = time.perf_counter()
        result = await ai_turns.respond(sid, Turn(text=text))
        if result.source != "llm":
            raise SystemExit(f"turn {n} did not use the model ({result.source})")
        committed = next(t for kind, t in sent if kind == "turn.committed")
        first_delta = next(t for kind, t in sent if kind == "ai.delta")
        from_commit.append((first_delta - committed) * 1000)
        from_call.append((first_delta - called) * 1000)
        if result.closed:
            raise SystemExit(f"the interview closed at turn {n}; use more --questions")
    events.abroadcast = original
    return from_commit, from_call, await prompt_tokens_by_turn(session)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--questions", type=int, default=40)
    args = parser.parse_args()
    if args.turns < 50:
        parser.error("--turns must be at least 50 (tokens are reported at turn 50)")

    with tempfile.TemporaryDirectory(prefix="bench-turns-") as tmp:
        setup_django(Path(tmp))
        from django.conf import settings
        from django.test import override_settings

        from tests.fakes.openai_server import FakeOpenAI, Reply

        layers = {
            "default": {
                "BACKEND": "channels.layers.InMemoryChannelLayer",
                "CONFIG": {"capacity": 100_000},
            }
        }
        with FakeOpenAI(responder=lambda body: Reply(REPLY)) as server:
            rt = replace(
                settings.RT,
                openai_api_key="bench-key",
                openai_base_url=server.base_url,
                openai_model="bench-model",
            )
            with override_settings(RT=rt, CHANNEL_LAYERS=layers):
                from_commit, from_call, tokens = asyncio.run(play(args.turns, args.questions))

    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    p50, p95 = percentile(from_commit, 0.5), percentile(from_commit, 0.95)
    print(
        f"turns={len(from_commit)} questions={args.questions} database={db} llm=local, zero delay"
    )
    print(
        f"overhead committed turn -> first ai.delta: p50 {p50:.1f} ms  p95 {p95:.1f} ms  "
        f"max {max(from_commit):.1f} ms"
    )
    print(
        f"  (from respond() call, incl. saving the turn: p50 {statistics.median(from_call):.1f} "
        f"ms  p95 {percentile(from_call, 0.95):.1f} ms)"
    )
    t5, t20, t50 = tokens[5], tokens[20], tokens[50]
    growth = (t50 - t5) / t5
    print(f"prompt tokens per turn: turn 5: {t5}  turn 20: {t20}  turn 50: {t50}  ({growth:+.1%})")
    overhead_ok = p50 < OVERHEAD_P50_TARGET_MS
    tokens_ok = abs(growth) <= TOKEN_GROWTH_TARGET and abs((t20 - t5) / t5) <= TOKEN_GROWTH_TARGET
    print(
        f"target overhead p50 < {OVERHEAD_P50_TARGET_MS:.0f} ms: {'met' if overhead_ok else 'NOT met'}"
    )
    print(
        f"target prompt tokens flat within {TOKEN_GROWTH_TARGET:.0%} (turn 5 -> 50): "
        f"{'met' if tokens_ok else 'NOT met'}"
    )
    return 0 if overhead_ok and tokens_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
