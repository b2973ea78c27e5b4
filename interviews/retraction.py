"""Take-back's writes (docs/protocol.md, "Take-back"): a reply taken back
because the candidate went on with the answer it replied to, and that answer
made whole. Writes as in services.py (keyword-only, one transaction each,
events persisted with the change and broadcast after it commits); a module of
their own because services.py is at the size limit (tests/test_architecture.py).
"""

from __future__ import annotations

from typing import Any

from django.core.files.base import File
from django.db import transaction

from .exceptions import InvalidTransition, NotFound
from .models import Conversation, InterviewSession
from .services import AI_SUGGESTIONS, record_event, save_ai_state
from .wire import EventType

Status = InterviewSession.Status


@transaction.atomic
def continue_answer(
    *,
    session: InterviewSession,
    conversation_id: int,
    message: str,
    audio_file: File | None = None,
    speech: dict[str, Any] | None = None,
) -> Conversation:
    """A reopened answer, now whole (take-back): the student's row updated in
    place (the whole text, the whole recording, the speech facts of the whole
    answer) and a `turn.committed` with the same conversation_id and the whole
    text. A replaced recording's file is deleted once this commits."""
    try:
        row = Conversation.objects.select_for_update().get(
            pk=conversation_id, session=session, speaker=Conversation.Speaker.STUDENT
        )
    except Conversation.DoesNotExist as exc:
        raise NotFound(f"No answer {conversation_id} in this session to continue.") from exc
    row.message = message
    row.speech = speech or {}
    if audio_file is not None:
        old = row.audio_file.name if row.audio_file else ""
        row.audio_file.save(audio_file.name, audio_file, save=False)
        if old and old != row.audio_file.name:
            storage = row.audio_file.storage
            transaction.on_commit(lambda: storage.delete(old))
    event = record_event(
        session=session,
        type_=EventType.TURN_COMMITTED,
        payload={
            "conversation_id": row.pk,
            "speaker": row.speaker,
            "text": message,
            "question_id": row.question_id,
        },
    )
    row.seq = event.seq  # the event that carries the whole answer
    row.save(update_fields=["message", "speech", "audio_file", "seq"])
    return row


@transaction.atomic
def retract_reply(
    *,
    session: InterviewSession,
    answer_id: int,
    reply_id: int,
    ai_state: dict[str, Any],
    used_suggestion: str | None = None,
) -> Conversation:
    """Take back the AI's reply to an answer the candidate went on with
    (take-back, docs/protocol.md): the reply is kept, marked `retracted`; the
    interviewer's state is `ai_state`, the state before that reply, with the
    observers' pending suggestions as stored now plus the one the reply asked
    (`used_suggestion`), first again; then `turn.reopened` (the answer) and
    `ai.cancelled` (the reply) are recorded, in that order.

    InvalidTransition when it cannot be taken back: the session is not in
    progress, the interview is closed (the reply may have closed it), or the
    reply is not the session's last row (something was said after it).
    """
    locked = InterviewSession.objects.select_for_update().get(pk=session.pk)
    if locked.status != Status.IN_PROGRESS:
        raise InvalidTransition(f"The session is {locked.status}; no reply is taken back.")
    current = locked.ai_state or {}
    if current.get("closed"):
        raise InvalidTransition("The interview has ended; its last reply is not taken back.")
    reply = locked.conversations.filter(
        pk=reply_id, speaker=Conversation.Speaker.AI, retracted=False
    ).first()
    answer = locked.conversations.filter(pk=answer_id, speaker=Conversation.Speaker.STUDENT).first()
    if reply is None or answer is None or answer.pk > reply.pk:
        raise InvalidTransition(f"Reply {reply_id} to answer {answer_id} cannot be taken back.")
    if locked.conversations.filter(pk__gt=reply.pk).exists():
        raise InvalidTransition(f"Reply {reply_id} is not the last turn; it stays.")
    pending = list(current.get(AI_SUGGESTIONS, []))
    if used_suggestion is not None and used_suggestion not in pending:
        pending.insert(0, used_suggestion)
    save_ai_state(session=locked, state={**ai_state, AI_SUGGESTIONS: pending})
    session.ai_state = locked.ai_state
    reply.retracted = True
    reply.save(update_fields=["retracted"])
    record_event(
        session=locked, type_=EventType.TURN_REOPENED, payload={"conversation_id": answer.pk}
    )
    record_event(
        session=locked, type_=EventType.AI_CANCELLED, payload={"conversation_id": reply.pk}
    )
    return reply
