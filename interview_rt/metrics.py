"""Prometheus metrics of this server process, served at GET /metrics.

Each daphne process counts its own sockets, refusals and turns; Prometheus
scrapes every process (docs/deploy.md, "What to watch"). Code reports an event
with one call (`metrics.server_busy()`, `metrics.socket_opened(role)`, ...);
figures that already exist somewhere (open speech streams, sessions by status)
are read when Prometheus asks, not copied.

Labels are bounded sets (roles, kinds, reasons, sources): never a session, a
user or a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count
from django.http import HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from .logins import client_ip

log = logging.getLogger(__name__)

# Seconds: answers and replies take from tens of milliseconds to tens of seconds.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0)

SOCKET_CONNECTIONS = Counter(
    "rt_socket_connections",
    "WebSocket connections opened (handshakes, refused ones too).",
    ["role"],
)
SOCKETS_OPEN = Gauge("rt_sockets_open", "WebSocket connections open now.", ["role"])
EVENT_LOOP_TASKS = Gauge(
    "rt_event_loop_tasks",
    "asyncio tasks alive on this process's event loop when scraped (sockets, live "
    "sessions, timers): it follows the sockets open and never grows on its own.",
)
RATE_LIMITED = Counter(
    "rt_rate_limited", "Requests refused by a per-address rate limit (RT_*_RATE).", ["kind"]
)
SERVER_BUSY = Counter(
    "rt_server_busy", "Speech streams refused because the decoders were full (server_busy)."
)
RECOGNISERS_RECYCLED = Counter(
    "rt_speech_recognisers_recycled",
    "Recognisers closed for having decoded RT_STT_RECYCLE_AFTER_S (less their jitter) and "
    "replaced by a newly warmed one: each costs a warming, and the server's memory drops.",
)
FINAL_TRANSCRIPT = Histogram(
    "rt_turn_final_transcript_seconds",
    "End of a spoken answer to its final transcript (metrics.turn stt_final_ms).",
    buckets=LATENCY_BUCKETS,
)
FIRST_WORDS = Histogram(
    "rt_turn_response_seconds",
    "End of a spoken answer to the AI's first words (stt_final_ms + llm_first_token_ms).",
    buckets=LATENCY_BUCKETS,
)
AI_FIRST_TOKEN = Histogram(
    "rt_ai_first_token_seconds",
    "Start of an AI reply to its first words, by who worded it (llm, scripted, fallback).",
    ["source"],
    buckets=LATENCY_BUCKETS,
)
AI_REPLY = Histogram(
    "rt_ai_reply_seconds",
    "Start of an AI reply to its last words, by who worded it.",
    ["source"],
    buckets=LATENCY_BUCKETS,
)
AI_FALLBACKS = Counter(
    "rt_ai_fallbacks",
    "AI replies worded by the scripted interviewer because the LLM failed or its reply "
    "was withheld.",
    ["reason"],
)
LLM_ERRORS = Counter("rt_llm_errors", "Failed LLM requests (each attempt).", ["kind"])
CHANNEL_LAYER_FAILURES = Counter(
    "rt_channel_layer_failures", "Channel layer calls (group send, receive) that failed."
)


# --- one-line reports ----------------------------------------------------------


def socket_role(path: str) -> str:
    if path.startswith("/ws/interview/"):
        return "candidate"
    if path.startswith("/ws/asr/"):
        return "asr"
    if path.rstrip("/") == "/ws/observe":
        return "lobby"
    if path.startswith("/ws/observe/"):
        return "observer"
    return "other"


@contextlib.contextmanager
def socket_open(path: str) -> Iterator[None]:
    """Around one WebSocket connection's life."""
    role = socket_role(path)
    SOCKET_CONNECTIONS.labels(role).inc()
    SOCKETS_OPEN.labels(role).inc()
    try:
        yield
    finally:
        SOCKETS_OPEN.labels(role).dec()


def rate_limited(kind: str) -> None:
    RATE_LIMITED.labels(kind).inc()


def server_busy() -> None:
    SERVER_BUSY.inc()


def recogniser_recycled() -> None:
    RECOGNISERS_RECYCLED.inc()


def llm_error(exc: BaseException) -> None:
    LLM_ERRORS.labels(type(exc).__name__).inc()


def channel_layer_failure() -> None:
    """For the channel layer's wrapper: one failed send or receive."""
    CHANNEL_LAYER_FAILURES.inc()


def ai_reply(
    *, timing: dict, source: str, warnings: list[dict], stt_final_ms: float | None
) -> None:
    """One AI reply worded: its timing (live/ai_turns.py's), who worded it, and
    for a spoken answer the time from its end to the final transcript."""
    first_ms = timing.get("llm_first_token_ms")
    total_ms = timing.get("llm_total_ms")
    if first_ms is not None:
        AI_FIRST_TOKEN.labels(source).observe(first_ms / 1000)
    if total_ms is not None:
        AI_REPLY.labels(source).observe(total_ms / 1000)
    if source == "fallback":
        reason = warnings[-1]["code"] if warnings else "unknown"
        AI_FALLBACKS.labels(reason).inc()
    if stt_final_ms is not None:
        FINAL_TRANSCRIPT.observe(stt_final_ms / 1000)
        if first_ms is not None:
            FIRST_WORDS.observe((stt_final_ms + first_ms) / 1000)


# --- figures read at scrape time ----------------------------------------------


class Sampled(Collector):
    """Gauges whose value is asked for when Prometheus scrapes."""

    def __init__(self) -> None:
        self.sources: dict[str, tuple[str, Callable[[], float]]] = {}

    def describe(self):
        # Nothing up front: registering would otherwise read every source (and
        # the database) at import time.
        return []

    def add(self, name: str, doc: str, read: Callable[[], float]) -> None:
        self.sources[name] = (doc, read)

    def collect(self):
        for name, (doc, read) in list(self.sources.items()):
            try:
                value = float(read())
            except Exception:  # a broken source must not hide the other metrics
                log.warning("metric source failed", extra={"metric": name}, exc_info=True)
                continue
            yield GaugeMetricFamily(name, doc, value=value)
        yield from sessions_by_status()


def sessions_by_status():
    from interviews.models import InterviewSession

    family = GaugeMetricFamily(
        "rt_sessions", "Interview sessions by status (the whole database).", labels=["status"]
    )
    try:
        counts = dict(
            InterviewSession.objects.values_list("status").annotate(n=Count("id")).order_by()
        )
    except Exception:  # the database down: leave the series out, keep the rest
        log.warning("metric source failed", extra={"metric": "rt_sessions"}, exc_info=True)
        return
    for status in InterviewSession.Status.values:
        family.add_metric([status], counts.get(status, 0))
    yield family


def speech_admission():
    # Imported at scrape time: interview_rt is below speech/ in the rooms.
    from speech.admission import admission

    return admission


def speech_warm_pool():
    from speech.warm import warm

    return warm


sampled = Sampled()
sampled.add(
    "rt_speech_streams_open",
    "Live speech streams this process decodes now (admitted).",
    lambda: speech_admission().open_streams,
)
sampled.add(
    "rt_speech_streams_limit",
    "Live speech streams this process admits at most (RT_STT_MAX_STREAMS).",
    lambda: settings.RT.stt_max_streams,
)
sampled.add(
    "rt_speech_places_held",
    "Interviews whose audio this process admitted (each counted as speaking).",
    lambda: speech_admission().held(),
)
sampled.add(
    "rt_speech_headroom",
    "More interviews this process would admit now, by its measured decoding "
    "cost against RT_STT_LATENCY_TARGET_MS (speech/admission.py).",
    lambda: max(0, speech_admission().capacity() - speech_admission().held()),
)
sampled.add(
    "rt_speech_decode_cost",
    "Decoder wall seconds per audio second, one speaking stream, over RT_STT_LOAD_WINDOW_S.",
    lambda: speech_admission().load().cost,
)
sampled.add(
    "rt_speech_process_cost",
    "The whole process's CPU seconds per audio second decoded, over RT_STT_LOAD_WINDOW_S "
    "(admission counts the dearer of this and rt_speech_decode_cost).",
    lambda: speech_admission().load().process_cost,
)
sampled.add(
    "rt_speech_final_wait_seconds_p95",
    "95th percentile wait for a turn's final result (decoder queue plus flush).",
    lambda: speech_admission().load().final_wait_s,
)
sampled.add(
    "rt_speech_recognisers_warm",
    "Warm recognisers idle in this process's pool now (RT_STT_WARM_POOL_SIZE at most).",
    lambda: speech_warm_pool().count(),
)
REGISTRY.register(sampled)


# --- the endpoint --------------------------------------------------------------


def reader(request):
    """The staff user (session or API token) asking, else who they are."""
    user = getattr(request, "user", None) or AnonymousUser()
    if not user.is_authenticated:
        # An API token, as the REST API takes it (Prometheus: `authorization`).
        try:
            found = TokenAuthentication().authenticate(Request(request))
        except AuthenticationFailed:
            found = None
        user = found[0] if found else user
    return user


def allowed_address(request) -> bool:
    rt = settings.RT
    allowed = {a.strip() for a in rt.metrics_allowed_ips.split(",") if a.strip()}
    return rt.metrics_public or client_ip(request) in allowed


@require_safe
async def metrics_view(request) -> HttpResponse:
    """GET /metrics: this process's series in Prometheus' text format."""
    # Counted here, on the server's event loop; the rest may read the database.
    EVENT_LOOP_TASKS.set(len(asyncio.all_tasks()))
    return await sync_to_async(metrics_response)(request)


def metrics_response(request) -> HttpResponse:
    if not allowed_address(request):
        user = reader(request)
        if not user.is_authenticated:
            return HttpResponse(
                "Log in as staff or send an API token (Authorization: Token <key>).\n",
                status=401,
                content_type="text/plain",
            )
        if not (user.is_active and user.is_staff):
            return HttpResponse("Staff only.\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
