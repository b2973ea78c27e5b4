"""The server process is SIGKILLed in the middle of an interview and started
again on the same port and database: the candidate's `resume` brings back
every persisted event exactly once, the interview goes on from the last
committed event, and a spoken answer cut by the kill is the only thing lost
(its words were never committed: the candidate page asks for it again,
tests/browser/test_lost_answer.py)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time

import pytest
import websockets

from tests.audio_fixtures import KOREAN_ANSWER, espeak_available, frames, silence, speak
from tests.browser.server import LiveServer
from tests.conftest import require_service
from tests.wsclient import answer, connect, events_until, persisted, replay, send

pytestmark = [pytest.mark.e2e, pytest.mark.speech]

QUESTIONS = [
    "Tell me about yourself",
    "What are your strengths?",
    "Why this team?",
    "What would you change first?",
]
FIRST = "I build streaming speech systems in Python and lead a small team that ships weekly."
SECOND = "My strength is measuring before changing anything, then keeping the change small."
AFTER_RESTART = "I like this team because it runs its own servers and cares about latency."


@pytest.fixture
def server(tmp_path):
    require_service(espeak_available(), "espeak-ng and sox are needed to synthesise test speech")
    server = LiveServer(tmp_path, tmp_path)
    server.prepare()
    server.start()
    yield server
    server.stop()


def stored_seqs(server: LiveServer, session_uuid: str) -> dict[int, str]:
    """Every persisted event's seq for the session and who hears it ("all" or
    "observers"), read from the server's database."""
    with sqlite3.connect(server.workdir / "db.sqlite3") as db:
        rows = db.execute(
            "SELECT e.seq, e.audience FROM interviews_sessionevent e "
            "JOIN interviews_interviewsession s ON s.id = e.session_id "
            "WHERE s.session_id = ? ORDER BY e.seq",
            [session_uuid.replace("-", "")],
        ).fetchall()
    return dict(rows)


async def interview_until_the_kill(server: LiveServer, session: dict) -> list[dict]:
    """Greeting, two typed answers, then a spoken answer that the kill cuts
    once the server has shown it hears words. Returns every event received."""
    received: list[dict] = []
    async with connect(server, session) as ws:
        # The recogniser opens (and the model loads) while the typed turns run.
        await send(ws, "audio.config", sample_rate=16000)
        await send(ws, "interview.start")
        received += await events_until(ws, "ai.message")
        received += await answer(ws, FIRST)
        received += await answer(ws, SECOND)
        # No silence after the words: the turn cannot end by itself, so the
        # kill always lands in the middle of the answer.
        start = time.monotonic()
        for i, frame in enumerate(frames(silence(0.3) + speak(KOREAN_ANSWER))):
            await asyncio.sleep(max(0.0, start + i * 0.1 - time.monotonic()))
            await ws.send(frame)
        received += await until_heard(ws)
        server.kill()
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                received.append(json.loads(await ws.recv()))
    return received


async def until_heard(ws) -> list[dict]:
    """Events up to the first one showing the server heard words of the answer."""
    seen: list[dict] = []
    deadline = time.monotonic() + 30
    while not any(e["type"].startswith("transcript.") for e in seen):
        seen.append(json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic())))
    return seen


async def after_restart(server: LiveServer, session: dict):
    observer_url = (
        f"{server.base.replace('http://', 'ws://')}/ws/observe/{session['session_id']}/"
        f"?token={server.login_token()}"
    )
    async with websockets.connect(observer_url, origin=server.base) as ws:
        observed = await replay(ws, after_seq=0)
    async with connect(server, session) as ws:
        everything = await replay(ws, after_seq=0)
        # The interview goes on: the next answer is the answer to the last
        # question asked before the kill, and the interviewer moves on.
        last_question = [e for e in everything if e["type"] == "ai.message"][-1]["question_id"]
        went_on = await answer(ws, AFTER_RESTART)
    # A client that had seen up to some seq asks for the rest only.
    middle = everything[len(everything) // 2]["seq"]
    async with connect(server, session) as ws:
        rest = await replay(ws, after_seq=middle)
    return observed, everything, last_question, went_on, middle, rest


def test_sigkill_mid_answer_then_restart_resumes_every_event_once(server):
    session = server.create_session("Killed mid interview", QUESTIONS)
    sid = session["session_id"]
    before = asyncio.run(interview_until_the_kill(server, session))
    stored_at_kill = stored_seqs(server, sid)

    server.start()
    observed, everything, last_question, went_on, middle, rest = asyncio.run(
        after_restart(server, session)
    )

    # Every persisted event once, in order, none missing, none repeated: all
    # of them to an observer, all but the observers-only ones to the candidate.
    assert [e["seq"] for e in observed] == list(range(1, len(stored_at_kill) + 1))
    assert list(stored_at_kill) == list(range(1, len(stored_at_kill) + 1))
    seqs = [e["seq"] for e in everything]
    assert seqs == [seq for seq, audience in stored_at_kill.items() if audience == "all"]
    assert "metrics.turn" in {e["type"] for e in observed} - {e["type"] for e in everything}
    # What the candidate saw before the kill comes back the same.
    assert set(persisted(before)) <= set(persisted(everything))
    candidate_seqs = seqs + [seq for seq, _ in persisted(went_on)]
    assert [e["seq"] for e in rest] == [s for s in candidate_seqs if s > middle]

    # The spoken answer cut by the kill was never committed: after the last
    # answer typed before the kill, only its transcript lines (if any) follow.
    kinds = [e["type"] for e in everything]
    last_reply = max(i for i, k in enumerate(kinds) if k == "ai.message")
    assert set(kinds[last_reply + 1 :]) <= {"transcript.final"}
    committed = [e["text"] for e in everything if e["type"] == "turn.committed"]
    assert committed == [FIRST, SECOND]

    # ... and the interview went on from there, numbered after the replay.
    turn = [e for e in went_on if e["type"] == "turn.committed"]
    reply = [e for e in went_on if e["type"] == "ai.message"]
    assert [e["text"] for e in turn] == [AFTER_RESTART]
    assert turn[0]["seq"] == max(stored_at_kill) + 1
    assert turn[0]["question_id"] == last_question
    assert reply[0]["seq"] > turn[0]["seq"]
    stored = [(row["speaker"], row["message"]) for row in server.conversation(sid)]
    assert [m for s, m in stored if s == "student"] == [FIRST, SECOND, AFTER_RESTART]
    assert [s for s, _ in stored] == ["ai", "student"] * 3 + ["ai"]
