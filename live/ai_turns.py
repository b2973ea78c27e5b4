"""The AI turn loop, shared by the WebSocket pipeline and REST `ai-interview`.

Each call persists the student's turn, lets the director pick the next move,
streams the interviewer's words as `ai.delta` to the session's group, then
persists the whole reply (`ai.message`) and sends observers `metrics.turn`.
When the interviewer had to fall back (model failure, a withheld reply),
observers get a persisted `observer.warning` before the `ai.message`.
One asyncio lock per session serialises turns within a process; across
processes, the candidate's connection owns its session's loop. Database calls
go through live.storage, which retries them on a lost connection (and, in a
live interview, keeps the turn until the database is back).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from dataclasses import dataclass, replace

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from interview_rt import metrics as server_metrics
from interviewer import evaluation
from interviewer.director import advance, decide
from interviewer.llm_interviewer import get_interviewer
from interviewer.plan import Move, MoveKind, Plan, PlannedQuestion, PlanState, record_answer
from interviewer.prompts import SpeechLog, TurnContext
from interviews import events, retraction, selectors, services
from interviews.exceptions import InvalidTransition
from interviews.models import Conversation, InterviewSession, SessionEvent
from interviews.wire import EventType

from . import storage
from .frames import Turn

log = logging.getLogger(__name__)

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
    source: str = "scripted"  # "llm" | "scripted" | "fallback"
    # What a take-back (reopen) needs to undo this reply: the plan state before
    # it, and the observer's suggestion it asked (None: none).
    state_before: dict | None = None
    used_suggestion: str | None = None


@dataclass
class Loaded:
    session: InterviewSession
    plan: Plan
    state: PlanState
    recent: tuple[tuple[str, str], ...]


def _load(session_uuid) -> Loaded:
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
    recent = selectors.recent_turns(session, limit=max(1, settings.RT.llm_recent_turns))
    return Loaded(session, plan, PlanState.load(session.ai_state), recent)


async def _aload(session_uuid) -> Loaded:
    return await storage.patiently(_load, session_uuid)


def _ensure_started(session_uuid) -> None:
    session = selectors.session_by_uuid(session_uuid)
    if session.status == InterviewSession.Status.SCHEDULED:
        services.transition_session(session=session, action="start")
    elif session.status != InterviewSession.Status.IN_PROGRESS:
        raise InvalidTransition(f"The session is {session.status}; the interview cannot run.")


def _load_and_commit_student(
    session_uuid, turn: Turn, audio, continues: int | None = None
) -> tuple[Loaded, Conversation]:
    """The session as the director needs it, and the student's turn saved (one
    trip to the database thread: this runs for every answer). With `continues`,
    the turn is the whole of that reopened answer: its row is updated in place."""
    loaded = _load(session_uuid)
    _require_open(loaded.session, loaded.state)
    if continues is not None:
        student = retraction.continue_answer(
            session=loaded.session,
            conversation_id=continues,
            message=turn.text,
            audio_file=audio,
            speech=turn.speech_facts(),
        )
        limit = max(1, settings.RT.llm_recent_turns)
        loaded.recent = selectors.recent_turns(loaded.session, limit=limit)
        return loaded, student
    current = loaded.plan.question(loaded.state.index)
    question = selectors.session_question(loaded.session, current.id if current else None)
    student = services.add_conversation(
        session=loaded.session,
        speaker=Conversation.Speaker.STUDENT,
        message=turn.text,
        question=question,
        audio_file=audio,
        speech=turn.speech_facts(),
    )
    loaded.recent = (*loaded.recent, ("student", turn.text))
    return loaded, student


async def _commit_ai(
    session: InterviewSession,
    state: PlanState,
    move: Move,
    text: str,
    slog: SpeechLog,
    metrics: dict | None,
) -> Conversation:
    """The reply with its plan state, warnings and metrics: one transaction
    (suggestions that arrived while it streamed are kept)."""
    return await storage.patiently(
        services.save_ai_reply,
        session=session,
        message=text,
        question_id=move.question.id if move.question else None,
        ai_state=state.dump(),
        used_suggestion=move.suggestion if move.kind is MoveKind.SUGGESTION else None,
        warnings=slog.warnings,
        closing_reason=move.reason if move.kind is MoveKind.CLOSING else None,
        metrics=metrics,
    )


async def _speak(loaded: Loaded, answer: str | None, move: Move) -> tuple[str, dict, SpeechLog]:
    interviewer = get_interviewer()
    ctx = TurnContext(plan=loaded.plan, state=loaded.state, answer=answer, recent=loaded.recent)
    started = time.perf_counter()
    first_token_ms = None
    parts: list[str] = []
    sid = loaded.session.session_id
    async for chunk in interviewer.speak(move, ctx):
        if first_token_ms is None:
            first_token_ms = (time.perf_counter() - started) * 1000
        parts.append(chunk)
        await events.abroadcast(events.ephemeral(sid, EventType.AI_DELTA, text=chunk))
    total_ms = (time.perf_counter() - started) * 1000
    timing = {
        "llm_first_token_ms": round(first_token_ms or total_ms, 1),
        "llm_total_ms": round(total_ms, 1),
        **ctx.log.metrics(),
    }
    return "".join(parts).strip(), timing, ctx.log


async def _say(
    loaded: Loaded,
    answer: str | None,
    move_override: Move | None = None,
    *,
    turn: Turn | None = None,
    stt_metrics: dict | None = None,
) -> AiResult:
    """The interviewer's next words, streamed, then saved with the new plan
    state (and, after a student `turn`, the turn's metrics for observers)."""
    now = timezone.now()
    move = move_override or decide(loaded.plan, loaded.state, answer, now)
    text, timing, slog = await _speak(loaded, answer, move)
    server_metrics.ai_reply(
        timing=timing,
        source=slog.source,
        warnings=slog.warnings,
        stt_final_ms=turn.stt_final_ms if turn else None,
    )
    if answer is not None:
        # After speaking: the prompt quotes this answer in full already.
        record_answer(loaded.state, loaded.plan, answer)
    advance(loaded.state, move, now)
    metrics = None if turn is None else _turn_metrics(turn, timing, stt_metrics)
    conversation = await _commit_ai(loaded.session, loaded.state, move, text, slog, metrics)
    if move.kind is MoveKind.CLOSING:
        await _evaluate_after_close(loaded.session.session_id)
    return AiResult(
        conversation=conversation,
        text=text,
        question_id=conversation.question_id,
        closed=loaded.state.closed,
        source=slog.source,
        used_suggestion=move.suggestion if move.kind is MoveKind.SUGGESTION else None,
    )


async def _evaluate_after_close(session_uuid) -> None:
    # The closing words are persisted and broadcast already; an evaluation
    # failure must not turn a finished interview into an error.
    try:
        await evaluation.on_close(session_uuid)
    except Exception:
        log.exception("session=%s evaluation after close failed", session_uuid)


async def initialize(session_uuid) -> AiResult:
    """Greeting and the first question; starts a scheduled session."""
    async with session_lock(session_uuid):
        loaded = await _aload(session_uuid)
        if loaded.state.opened:
            raise InvalidTransition("The interview has already been initialized.")
        if loaded.session.status != InterviewSession.Status.IN_PROGRESS:
            await storage.patiently(_ensure_started, session_uuid)
            loaded = await _aload(session_uuid)
        result = await _say(loaded, None)
        log.info("session=%s interview initialized (%s)", session_uuid, result.source)
        return result


async def respond(
    session_uuid,
    turn: Turn,
    *,
    audio=None,
    stt_metrics: dict | None = None,
    continues: int | None = None,
) -> AiResult:
    """A committed student turn and exactly one AI reply to it. `continues`: the
    id of the student's answer this turn is the whole of (take-back: its reply
    was taken back by `reopen`); that row is updated, not a new one added."""
    async with session_lock(session_uuid):
        loaded, student = await storage.patiently(
            _load_and_commit_student, session_uuid, turn, audio, continues
        )
        state_before = loaded.state.dump()
        result = await _say(loaded, turn.text, turn=turn, stt_metrics=stt_metrics)
        return replace(result, student_conversation=student, state_before=state_before)


async def reopen(
    session_uuid,
    *,
    answer_id: int,
    reply_id: int,
    state_before: dict,
    used_suggestion: str | None = None,
) -> bool:
    """Take back `reply_id`, the AI's reply to `answer_id`, which the candidate
    went on with (interviews.retraction.retract_reply: `turn.reopened`, `ai.cancelled`, the
    plan state before the reply). False, and nothing changed, when it cannot be
    taken back (the session is over, the reply closed the interview)."""
    async with session_lock(session_uuid):
        try:
            await storage.patiently(
                _retract, session_uuid, answer_id, reply_id, state_before, used_suggestion
            )
        except InvalidTransition as exc:
            log.info("session=%s answer %s not reopened: %s", session_uuid, answer_id, exc)
            return False
        log.info(
            "session=%s answer %s reopened, reply %s taken back", session_uuid, answer_id, reply_id
        )
        return True


def _retract(
    session_uuid, answer_id: int, reply_id: int, state_before: dict, used: str | None
) -> None:
    retraction.retract_reply(
        session=selectors.session_by_uuid(session_uuid),
        answer_id=answer_id,
        reply_id=reply_id,
        ai_state=state_before,
        used_suggestion=used,
    )


async def end(session_uuid, reason: str = "ended") -> AiResult | None:
    """Closing words; closes the AI conversation. Returns None if already closed."""
    return await _close(session_uuid, reason, require_opened=True)


async def close(session_uuid, reason: str = "ended") -> AiResult | None:
    """Closing words if the AI conversation is open; None if it never opened or
    is closed already. Run when a session ends (live.receivers)."""
    return await _close(session_uuid, reason, require_opened=False)


async def _close(session_uuid, reason: str, *, require_opened: bool) -> AiResult | None:
    async with session_lock(session_uuid):
        loaded = await _aload(session_uuid)
        if not loaded.state.opened:
            if require_opened:
                raise InvalidTransition("The interview has not been initialized.")
            return None
        if loaded.state.closed:
            return None
        return await _say(loaded, None, Move(MoveKind.CLOSING, reason=reason))


async def finish(session_uuid, reason: str = "ended") -> InterviewSession:
    """Complete the session from the event loop (the candidate's `interview.end`):
    services.aend_session, whose session_ending receiver closes the AI
    conversation first if it is open, as REST and the admin do."""
    session = await database_sync_to_async(selectors.session_by_uuid)(session_uuid)
    return await services.aend_session(session=session, reason=reason)


async def add_suggestion(session_uuid, text: str, author: str, actor=None) -> SessionEvent:
    """An observer's follow-up: queued for the director, which asks it next."""
    return await database_sync_to_async(services.queue_suggestion)(
        session_uuid=session_uuid, text=text, author=author, actor=actor
    )


def _require_open(session: InterviewSession, state: PlanState) -> None:
    waiting = (InterviewSession.Status.SCHEDULED, InterviewSession.Status.IN_PROGRESS)
    if not state.opened and session.status in waiting:
        raise InvalidTransition(
            "The interview has not been started; send initialize (REST) or "
            "interview.start (WebSocket) first."
        )
    if session.status != InterviewSession.Status.IN_PROGRESS:
        raise InvalidTransition(f"The session is {session.status}; it is not in progress.")
    if state.closed:
        raise InvalidTransition("The interview has ended; no more answers are taken.")


def _turn_metrics(turn: Turn, timing: dict, stt_metrics: dict | None) -> dict:
    """The `metrics.turn` payload of one answered turn."""
    return {
        "stt_final_ms": turn.stt_final_ms,
        "words": len(turn.text.split()),
        "speech_s": round(turn.speech_s, 2),
        **timing,
        **(stt_metrics or {}),
    }
