"""The one LLM client: every request to the model goes through here.

Any OpenAI-compatible chat server, through the ``openai`` package's async
client: one cached client per event loop for the interviewer's streamed
replies (``stream_chat``), and a short-lived one per strict-JSON completion
(``complete_json``: the evaluation, question drafts). Also which errors are
worth a retry (``transient``) and how a failure is told to observers
(``describe``). Settings: ``OPENAI_*`` and ``RT_LLM_*`` (docs/interviewer.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import jsonschema
import openai
from django.conf import settings

from interviews.exceptions import DomainError

from .text import clip

log = logging.getLogger(__name__)


class LlmUnavailable(DomainError):
    code = "llm_unavailable"
    http_status = 503


class LlmFailed(DomainError):
    code = "llm_failed"
    http_status = 502


class StreamCut(Exception):
    """The model's stream ended before the reply was complete."""


class EmptyReply(Exception):
    pass


class StructuredOutputError(Exception):
    pass


def llm_enabled() -> bool:
    return bool(settings.RT.openai_api_key)


# --- clients ------------------------------------------------------------------------

_clients: dict[tuple, tuple[weakref.ref, openai.AsyncOpenAI]] = {}


def get_client() -> openai.AsyncOpenAI:
    """The async client for the running event loop (its connections belong to it).

    Under daphne every turn runs on the server's one loop, so the connection
    to the model is reused turn after turn. Retries are ours (see
    LLMInterviewer and complete_json), so the client's own are off.
    """
    rt = settings.RT
    loop = asyncio.get_running_loop()
    key = (id(loop), rt.openai_api_key, rt.openai_base_url, rt.llm_timeout_s)
    entry = _clients.get(key)
    if entry is not None and entry[0]() is loop:
        return entry[1]
    for stale in [k for k, (ref, _) in _clients.items() if ref() is None or ref().is_closed()]:
        _clients.pop(stale, None)
    client = new_client(rt.llm_timeout_s)
    _clients[key] = (weakref.ref(loop), client)
    return client


async def close_client() -> None:
    """Close the running loop's cached client (before a short-lived loop ends)."""
    loop = asyncio.get_running_loop()
    for key, (ref, client) in list(_clients.items()):
        if ref() is loop:
            _clients.pop(key, None)
            await client.close()


def new_client(timeout_s: float) -> openai.AsyncOpenAI:
    rt = settings.RT
    return openai.AsyncOpenAI(
        api_key=rt.openai_api_key,
        base_url=rt.openai_base_url or None,
        timeout=timeout_s,
        max_retries=0,
    )


def transient(exc: BaseException) -> bool:
    """Worth one more try: network trouble, timeouts, 5xx/429, broken or cut streams."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500 or exc.status_code in (408, 409, 429)
    return isinstance(
        exc, openai.APIConnectionError | TimeoutError | StreamCut | ValueError | EmptyReply
    )


def describe(exc: BaseException) -> str:
    text = str(exc) or ("timed out" if isinstance(exc, TimeoutError) else "no details")
    return f"{exc.__class__.__name__}: {clip(text, 200)}"


# --- streamed chat (the interviewer's replies) ------------------------------------------


@dataclass
class StreamStats:
    """What a streamed reply reports besides its text."""

    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


async def stream_chat(
    client: openai.AsyncOpenAI, model: str, messages: list[dict[str, str]], stats: StreamStats
) -> AsyncIterator[str]:
    """The text of one streamed chat reply, piece by piece as it arrives.

    Asks for at most `llm_max_tokens` at `llm_temperature` (with token
    counts when `llm_stream_usage`). The whole reply must arrive within
    `llm_timeout_s`, a slowly trickling stream too. `stats` gets the finish
    reason and the server's token counts as they come. Raises StreamCut when
    the stream ends without a finish reason; TimeoutError and the client's
    errors pass through. Leave it early only through `contextlib.aclosing`,
    so the HTTP stream is closed at once.
    """
    rt = settings.RT
    loop = asyncio.get_running_loop()
    deadline = loop.time() + rt.llm_timeout_s
    request: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "stream": True,
        "max_tokens": rt.llm_max_tokens,
        "temperature": rt.llm_temperature,
    }
    if rt.llm_stream_usage:
        request["stream_options"] = {"include_usage": True}
    stream = await asyncio.wait_for(client.chat.completions.create(**request), rt.llm_timeout_s)
    try:
        chunks = stream.__aiter__()
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no complete reply within {rt.llm_timeout_s} s")
            try:
                chunk = await asyncio.wait_for(chunks.__anext__(), remaining)
            except StopAsyncIteration:
                break
            usage = getattr(chunk, "usage", None)
            if usage is not None:
                stats.prompt_tokens = usage.prompt_tokens
                stats.completion_tokens = usage.completion_tokens
            for choice in chunk.choices or ():
                content = choice.delta.content if choice.delta else None
                if content:
                    yield content
                if choice.finish_reason:
                    stats.finish_reason = choice.finish_reason
    finally:
        await stream.close()
    if stats.finish_reason is None:
        raise StreamCut("the stream ended before the reply was complete")


# --- strict JSON (evaluation, question drafts) -------------------------------------------


def response_format(name: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    mode = settings.RT.llm_json_mode
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": True},
        }
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def parse_json_reply(content: str | None) -> Any:
    """The JSON object in a reply; tolerates a ```json fence around it."""
    text = (content or "").strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL)
    if fenced:
        text = fenced.group(1)
    return json.loads(text)


async def complete_json(
    *,
    messages: list[dict[str, str]],
    schema: dict[str, Any],
    name: str,
    check: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    max_tokens: int | None = None,
) -> dict[str, Any]:
    """A JSON reply validated against `schema` (and `check`, which may normalise it).

    A transient error is retried (`llm_max_retries`); an invalid reply gets
    one repair request that shows the model its error. Raises
    StructuredOutputError when no valid object came back.
    """
    rt = settings.RT
    validator = jsonschema.Draft202012Validator(schema)
    conversation = list(messages)
    fmt = response_format(name, schema)
    last_error = ""
    # Its own client, closed after: these run in short-lived loops (a REST
    # request, a background job) where a cached client's sockets would leak.
    async with new_client(rt.llm_eval_timeout_s) as client:
        for repair in (False, True):
            try:
                content = await _complete(
                    client, conversation, fmt, max_tokens or rt.llm_eval_max_tokens
                )
            except Exception as exc:
                raise StructuredOutputError(describe(exc)) from exc
            try:
                data = parse_json_reply(content)
                errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
                if errors:
                    where = "/".join(map(str, errors[0].absolute_path)) or "(root)"
                    raise ValueError(f"schema error at {where}: {errors[0].message}")
                return check(data) if check else data
            except ValueError as exc:  # JSONDecodeError is a ValueError
                last_error = clip(str(exc), 300)
                log.warning("structured reply %s invalid (repair=%s): %s", name, repair, last_error)
                conversation = [
                    *messages,
                    {"role": "assistant", "content": clip(content or "", 8000)},
                    {
                        "role": "user",
                        "content": f"That reply was not valid: {last_error}. Reply again with only "
                        "the corrected JSON object, matching the schema exactly.",
                    },
                ]
    raise StructuredOutputError(f"invalid JSON twice: {last_error}")


async def _complete(client, messages, fmt, max_tokens: int) -> str:
    rt = settings.RT
    request: dict[str, Any] = {
        "model": rt.openai_model,
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": 0.2,
    }
    if fmt:
        request["response_format"] = fmt
    attempts = 1 + max(0, rt.llm_max_retries)
    for attempt in range(1, attempts + 1):
        try:
            completion = await asyncio.wait_for(
                client.chat.completions.create(**request, timeout=rt.llm_eval_timeout_s),
                rt.llm_eval_timeout_s,
            )
            return completion.choices[0].message.content or ""
        except Exception as exc:
            if not transient(exc) or attempt == attempts:
                raise
            log.warning("LLM request failed (attempt %d): %s", attempt, describe(exc))
            await asyncio.sleep(rt.llm_retry_backoff_s)
    raise AssertionError("unreachable")


def schema_prompt(schema: dict[str, Any]) -> str:
    return "Reply with one JSON object only, matching this JSON schema:\n" + json.dumps(
        schema, separators=(",", ":")
    )
