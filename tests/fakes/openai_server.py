"""A local OpenAI-compatible HTTP server for tests and benchmarks.

A real HTTP/1.1 server on 127.0.0.1 (ephemeral port) in a daemon thread, so
the production client code (the `openai` package's async client, its HTTP
stack, SSE parsing) runs unchanged against it. It serves
``POST /v1/chat/completions``: ``stream: true`` answers with server-sent
events in chunked transfer encoding, as OpenAI, vLLM and llama.cpp do;
otherwise one JSON body.

Replies are scripted: ``script(Reply(...), Fault(...))`` queues what the next
requests get, in order; when the queue is empty the ``responder`` (a function
of the request body) decides. Every request is recorded (``requests``) so a
test can check what the interviewer put in its prompt.

Faults: an HTTP status with an error body, a delay before answering (for
client timeouts), a stream cut after some chunks (the connection drops
without the terminating chunk), and malformed JSON (in an SSE line, or as a
non-stream body).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """A normal completion. `text` is split into `chunk_words`-word SSE chunks."""

    text: str
    chunk_words: int = 1
    delay_s: float = 0.0  # before the first byte
    chunk_delay_s: float = 0.0  # between chunks
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Fault:
    """A failure. kind: "status", "delay", "cut", "bad_json_chunk", "bad_body"."""

    kind: str
    status: int = 500
    delay_s: float = 0.0
    text: str = ""  # for "cut": the words sent before the connection drops
    chunk_words: int = 1


@dataclass
class Recorded:
    body: dict[str, Any]
    headers: dict[str, str]
    received_at: float = field(default_factory=time.perf_counter)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    @property
    def prompt_text(self) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages)


def count_tokens(text: str) -> int:
    """A tokenizer stand-in: words and punctuation marks (close to BPE counts for English)."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def prompt_tokens(body: dict[str, Any]) -> int:
    return sum(4 + count_tokens(str(m.get("content", ""))) for m in body.get("messages", []))


Behaviour = Reply | Fault


class FakeOpenAI:
    """Start with ``with FakeOpenAI() as server:``; ``server.base_url`` is the /v1 URL."""

    def __init__(self, responder: Callable[[dict[str, Any]], Behaviour] | None = None) -> None:
        self.responder = responder or (lambda body: Reply("Thank you."))
        self.requests: list[Recorded] = []
        self._queue: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- scripting ------------------------------------------------------------

    def script(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._queue.extend(behaviours)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def _next(self, body: dict[str, Any]) -> Behaviour:
        with self._lock:
            self.requests.append(Recorded(body=body, headers={}))
            if self._queue:
                return self._queue.popleft()
        return self.responder(body)

    # --- lifecycle --------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAI:
        server = self

        class Handler(_Handler):
            fake = server

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops first; False if it stopped."""
        return not self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # Clients that time out or hang up mid-reply are part of the tests.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Small SSE writes would otherwise wait for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    fake: FakeOpenAI
    timeout = 30  # idle keep-alive connections end after this

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._json(400, {"error": {"message": "invalid JSON body", "type": "invalid_request"}})
            return
        behaviour = self.fake._next(body)
        self.fake.requests[-1].headers = {k.lower(): v for k, v in self.headers.items()}
        delay = behaviour.delay_s
        if delay and not self.fake.sleep(delay):
            return
        if isinstance(behaviour, Fault):
            self._fault(behaviour, body)
        elif body.get("stream"):
            self._stream(behaviour, body)
        else:
            self._complete(behaviour, body)

    # --- replies ------------------------------------------------------------------

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _complete(self, reply: Reply, body: dict[str, Any]) -> None:
        completion_tokens = count_tokens(reply.text)
        self._json(
            200,
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.text},
                        "finish_reason": reply.finish_reason,
                    }
                ],
                "usage": _usage(body, completion_tokens),
            },
        )

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _event(self, payload: dict[str, Any] | str) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self._chunk(f"data: {text}\n\n".encode())

    def _delta(self, body: dict[str, Any], delta: dict[str, Any], finish: str | None) -> dict:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def _stream(self, reply: Reply, body: dict[str, Any]) -> None:
        self._start_sse()
        self._event(self._delta(body, {"role": "assistant", "content": ""}, None))
        for piece in _pieces(reply.text, reply.chunk_words):
            if reply.chunk_delay_s and not self.fake.sleep(reply.chunk_delay_s):
                return
            self._event(self._delta(body, {"content": piece}, None))
        self._event(self._delta(body, {}, reply.finish_reason))
        if (body.get("stream_options") or {}).get("include_usage"):
            self._event(
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": [],
                    "usage": _usage(body, count_tokens(reply.text)),
                }
            )
        self._event("[DONE]")
        self._chunk(b"")

    def _fault(self, fault: Fault, body: dict[str, Any]) -> None:
        if fault.kind == "status":
            self._json(
                fault.status,
                {"error": {"message": f"fake failure {fault.status}", "type": "server_error"}},
            )
        elif fault.kind == "delay":
            # The delay already ran; a client with a shorter timeout has gone.
            self._stream(Reply("Too late."), body) if body.get("stream") else self._complete(
                Reply("{}"), body
            )
        elif fault.kind == "cut":
            self._start_sse()
            self._event(self._delta(body, {"role": "assistant", "content": ""}, None))
            for piece in _pieces(fault.text, fault.chunk_words):
                self._event(self._delta(body, {"content": piece}, None))
            # Drop the connection without the terminating chunk: a truncated body.
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        elif fault.kind == "bad_json_chunk":
            self._start_sse()
            self._event(self._delta(body, {"role": "assistant", "content": ""}, None))
            for piece in _pieces(fault.text, fault.chunk_words):
                self._event(self._delta(body, {"content": piece}, None))
            self._event('{"choices": [{"delta": {"content": "oops"')
            self._event("[DONE]")
            self._chunk(b"")
        elif fault.kind == "bad_body":
            data = b'{"id": "chatcmpl-fake", "choices": [ this is not json'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            raise ValueError(f"unknown fault {fault.kind}")


def _pieces(text: str, words: int) -> list[str]:
    tokens = re.findall(r"\S+\s*", text)
    return ["".join(tokens[i : i + words]) for i in range(0, len(tokens), max(1, words))]


def _usage(body: dict[str, Any], completion_tokens: int) -> dict[str, int]:
    prompt = prompt_tokens(body)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
    }
