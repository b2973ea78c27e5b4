"""The LLM interviewer, and the choice between it and the scripted one.

The LLM interviewer words the director's moves with a chat model (through
``client.stream_chat``), releases its reply to the candidate one checked
sentence at a time (``guard``), retries a transient failure once, and
finishes any turn the model could not with the scripted wording, so the move
always happens (see docs/interviewer.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Protocol

import openai
from django.conf import settings

from interview_rt import metrics

from .client import (
    EmptyReply,
    StreamCut,
    StreamStats,
    describe,
    get_client,
    llm_enabled,
    stream_chat,
    transient,
)
from .guard import ReplyGuard, ReplyWithheld, SentenceBuffer, ends_sentence
from .plan import Move
from .prompts import SpeechLog, TurnContext, build_messages
from .scripted import ScriptedInterviewer
from .text import word_chunks

log = logging.getLogger(__name__)


class Interviewer(Protocol):
    """Words a move; yields the reply in chunks as they are produced."""

    name: str

    def speak(self, move: Move, ctx: TurnContext) -> AsyncIterator[str]: ...


def get_interviewer() -> Interviewer:
    """The LLM interviewer when an API key is set, else the scripted one."""
    if llm_enabled():
        return LLMInterviewer()
    return ScriptedInterviewer()


class LLMInterviewer:
    """Words moves with an OpenAI-compatible chat model, streaming.

    Per turn: one request, one retry on a transient error (before anything
    reached the candidate), then the scripted wording. Text is released to
    the candidate a checked sentence at a time; if the stream breaks after
    some sentences went out, the scripted `recovery` finishes the turn so it
    still asks what the move asks.
    """

    name = "llm"

    def __init__(self, client: openai.AsyncOpenAI | None = None, model: str | None = None):
        self.client = client or get_client()
        self.model = model or settings.RT.openai_model
        self.scripted = ScriptedInterviewer()

    async def speak(self, move: Move, ctx: TurnContext) -> AsyncIterator[str]:
        rt = settings.RT
        slog = ctx.log
        slog.source, slog.model = "llm", self.model
        messages = build_messages(move, ctx)
        slog.prompt_chars = sum(len(m["content"]) for m in messages)
        guard = ReplyGuard(ctx.plan, allowed=[move.suggestion])
        attempts = 1 + max(0, rt.llm_max_retries)
        sent = ""  # the last piece the candidate got, if any
        problem: tuple[str, str] | None = None
        for attempt in range(1, attempts + 1):
            slog.attempts = attempt
            try:
                async for piece in self._attempt(messages, guard, slog):
                    sent = piece
                    yield piece
                return
            except ReplyWithheld as exc:
                what = "an expected answer" if exc.reason == "expected_answer" else "a score"
                problem = (
                    "reply_withheld",
                    f"The model's reply quoted {what}; it was not sent, and this turn "
                    "used the scripted wording.",
                )
                break
            except Exception as exc:  # every model failure ends in the scripted wording
                log.warning("LLM attempt %d failed: %s", attempt, describe(exc))
                metrics.llm_error(exc)
                problem = (
                    "llm_fallback",
                    f"The language model failed ({describe(exc)}) after {attempt} "
                    f"attempt(s); this turn used the scripted wording.",
                )
                if sent or not transient(exc) or attempt == attempts:
                    break
                await asyncio.sleep(rt.llm_retry_backoff_s)
        slog.source = "fallback"
        if problem:
            slog.warn(*problem)
        text = self.scripted.recovery(move, ctx) if sent else self.scripted.text(move, ctx)
        gap = " " if sent and not sent[-1].isspace() else ""
        for i, chunk in enumerate(word_chunks(text)):
            yield gap + chunk if i == 0 else chunk

    async def _attempt(
        self, messages: list[dict[str, str]], guard: ReplyGuard, slog: SpeechLog
    ) -> AsyncIterator[str]:
        stats = StreamStats()
        buffer = SentenceBuffer()
        released = False
        try:
            async with aclosing(stream_chat(self.client, self.model, messages, stats)) as deltas:
                async for delta in deltas:
                    for sentence in buffer.feed(delta):
                        for piece in _approved(sentence, guard):
                            released = True
                            yield piece
        finally:
            if stats.prompt_tokens is not None or stats.completion_tokens is not None:
                slog.prompt_tokens = stats.prompt_tokens
                slog.completion_tokens = stats.completion_tokens
        rest = buffer.flush()
        if rest.strip():
            if stats.finish_reason == "length" and not ends_sentence(rest):
                raise StreamCut("the reply was cut at the token limit")
            for piece in _approved(rest, guard):
                released = True
                yield piece
        if not released:
            raise EmptyReply("the model returned an empty reply")


def _approved(sentence: str, guard: ReplyGuard) -> list[str]:
    if not sentence.strip():
        return []
    reason = guard.check(sentence)
    if reason:
        raise ReplyWithheld(reason)
    return word_chunks(sentence)
