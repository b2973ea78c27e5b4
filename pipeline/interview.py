"""The AI turn loop, shared by the WebSocket pipeline and REST `ai-interview`.

Each call persists the student's turn, lets the director pick the next move,
streams the interviewer's words as `ai.delta` to the session's group, then
persists the whole reply (`ai.message`) and sends observers `metrics.turn`.
One asyncio lock per session serialises turns within a process; across
processes, the candidate's connection owns its session's loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.db import transaction
from django.utils import timezone

from interviews import events, selectors, services
from interviews.exceptions import InvalidTransition
from interviews.models import Conversation, InterviewSession, SessionEvent

from .frames import Turn
from .llm import Move, MoveKind, Plan, PlannedQuestion, PlanState, TurnContext, advance, decide
from .llm import get_interviewer as _get_interviewer

log = logging.getLogger(__name__)

RECENT_TURNS = 6
_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def session_lock(session_uuid) -> asyncio.Lock:
    key = str(session_uuid)
    lock = _locks.get(key)
    if lock is None:
        lock = _locks[key] = asyncio.Lock()
    return lock


@dataclass(frozen=True)
class AiResult:
    conversation: Conversation | None
    text: str
    question_id: int | None
    closed: bool
    student_conversation: Conversation | None = None


def get_interviewer():
    return _get_interviewer()


def _load(session_uuid) -> tuple[InterviewSession, Plan, PlanState, tuple]:
    session = selectors.session_by_uuid(session_uuid)
    questions = tuple(
        PlannedQuestion(q.pk, q.question_text, q.category, q.difficulty, q.expected_answer)
        for q in selectors.session_questions(session)
    )
    plan = Plan(
        title=session.title,
        description=session.description,
        candidate_name=session.student.name,
        interviewer_name=session.interviewer.name,
        questions=questions,
        duration_minutes=session.duration_minutes,
        started_at=session.started_at,
        language=session.language,
    )
    recent = tuple(
        (c.speaker, c.message)
        for c in reversed(list(session.conversations.order_by("-id")[:RECENT_TURNS]))
    )
    return session, plan, PlanState.load(session.ai_state), recent


@database_sync_to_async
def _aload(session_uuid):
    return _load(session_uuid)


@database_sync_to_async
def _ensure_started(session_uuid) -> None:
    session = selectors.session_by_uuid(session_uuid)
    if session.status == InterviewSession.Status.SCHEDULED:
        services.transition_session(session=session, action="start")
    elif session.status != InterviewSession.Status.IN_PROGRESS:
        raise InvalidTransition(f"The session is {session.status}; the interview cannot run.")


@database_sync_to_async
def _commit_student(session: InterviewSession, state: PlanState, turn: Turn, audio) -> Conversation:
    current = state.index if state.index >= 0 else None
    question = session.questions.filter(pk=_question_pk(session, current)).first()
    return services.add_conversation(
        session=session,
        speaker=Conversation.Speaker.STUDENT,
        message=turn.text,
        question=question,
        audio_file=audio,
        speech=turn.speech_facts(),
    )


def _question_pk(session: InterviewSession, index: int | None) -> int | None:
    if index is None:
        return None
    ids = list(session.questions.order_by("order", "id").values_list("pk", flat=True))
    return ids[index] if 0 <= index < len(ids) else None


@database_sync_to_async
def _commit_ai(session, state: PlanState, move: Move, text: str) -> Conversation:
    with transaction.atomic():
        question = session.questions.filter(pk=move.question.id).first() if move.question else None
        conversation = services.add_conversation(
            session=session, speaker=Conversation.Speaker.AI, message=text, question=question
        )
        services.save_ai_state(session=session, state=state.dump())
        if move.kind is MoveKind.CLOSING:
            services.record_event(
                session=session, type_="interview.ended", payload={"reason": move.reason}
            )
    return conversation


async def _speak(session, plan, state, recent, answer, move) -> tuple[str, dict]:
    interviewer = get_interviewer()
    ctx = TurnContext(plan=plan, state=state, answer=answer, recent=recent)
    started = time.perf_counter()
    first_token_ms = None
    parts: list[str] = []
    async for chunk in interviewer.speak(move, ctx):
        if first_token_ms is None:
            first_token_ms = (time.perf_counter() - started) * 1000
        parts.append(chunk)
        await events.abroadcast(events.ephemeral(session.session_id, "ai.delta", text=chunk))
    total_ms = (time.perf_counter() - started) * 1000
    return "".join(parts).strip(), {
        "llm_first_token_ms": round(first_token_ms or total_ms, 1),
        "llm_total_ms": round(total_ms, 1),
    }


async def _say(session_uuid, answer: str | None, move_override=None) -> tuple[AiResult, dict]:
    session, plan, state, recent = await _aload(session_uuid)
    now = timezone.now()
    move = move_override or decide(plan, state, answer, now)
    text, timing = await _speak(session, plan, state, recent, answer, move)
    advance(state, move, now)
    conversation = await _commit_ai(session, state, move, text)
    return AiResult(
        conversation=conversation,
        text=text,
        question_id=conversation.question_id,
        closed=state.closed,
    ), timing


async def initialize(session_uuid) -> AiResult:
    """Greeting and the first question; starts a scheduled session."""
    async with session_lock(session_uuid):
        session, _plan, state, _ = await _aload(session_uuid)
        if state.opened:
            raise InvalidTransition("The interview has already been initialized.")
        await _ensure_started(session_uuid)
        result, _timing = await _say(session_uuid, None)
        log.info("session=%s interview initialized", session_uuid)
        return result


async def respond(
    session_uuid, turn: Turn, *, audio=None, stt_metrics: dict | None = None
) -> AiResult:
    """A committed student turn and exactly one AI reply to it."""
    async with session_lock(session_uuid):
        session, _plan, state, _ = await _aload(session_uuid)
        _require_open(session, state)
        student = await _commit_student(session, state, turn, audio)
        result, timing = await _say(session_uuid, turn.text)
        await _send_metrics(session, turn, timing, stt_metrics)
        return AiResult(
            conversation=result.conversation,
            text=result.text,
            question_id=result.question_id,
            closed=result.closed,
            student_conversation=student,
        )


async def end(session_uuid, reason: str = "ended") -> AiResult | None:
    """Closing words; closes the AI conversation. Returns None if already closed."""
    async with session_lock(session_uuid):
        session, _plan, state, _ = await _aload(session_uuid)
        if not state.opened:
            raise InvalidTransition("The interview has not been initialized.")
        if state.closed:
            return None
        result, _timing = await _say(session_uuid, None, Move(MoveKind.CLOSING, reason=reason))
        return result


async def finish(session_uuid, reason: str = "ended") -> InterviewSession:
    """End the AI conversation if it is open, then complete the session."""
    session, _plan, state, _ = await _aload(session_uuid)
    if session.status != InterviewSession.Status.IN_PROGRESS:
        raise InvalidTransition(
            f"Cannot end a session that is {session.get_status_display().lower()} "
            f"(status '{session.status}')."
        )
    if state.opened and not state.closed:
        await end(session_uuid, reason)
    return await database_sync_to_async(services.transition_session)(session=session, action="end")


async def add_suggestion(session_uuid, text: str, author: str) -> SessionEvent:
    @database_sync_to_async
    def write():
        with transaction.atomic():
            session = InterviewSession.objects.select_for_update().get(session_id=session_uuid)
            state = PlanState.load(session.ai_state)
            state.suggestions.append(text)
            services.save_ai_state(session=session, state=state.dump())
            return services.add_observer_event(
                session=session, type_="observer.suggest", text=text, author=author
            )

    return await write()


def _require_open(session: InterviewSession, state: PlanState) -> None:
    if session.status != InterviewSession.Status.IN_PROGRESS:
        raise InvalidTransition(f"The session is {session.status}; it is not in progress.")
    if not state.opened:
        raise InvalidTransition("The interview has not been initialized; send initialize first.")
    if state.closed:
        raise InvalidTransition("The interview has ended; no more answers are taken.")


@database_sync_to_async
def _send_metrics(session, turn: Turn, timing: dict, stt_metrics: dict | None) -> None:
    """Persisted (observers only) so the latency chart and the report keep it."""
    metrics = {
        "stt_final_ms": turn.stt_final_ms,
        "words": len(turn.text.split()),
        "speech_s": round(turn.speech_s, 2),
        **timing,
        **(stt_metrics or {}),
    }
    services.record_event(
        session=session,
        type_="metrics.turn",
        payload=metrics,
        audience=SessionEvent.Audience.OBSERVERS,
    )
