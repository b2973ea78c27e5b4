"""Per-client-address rate limits (the `limits` package): new WebSocket
connections (RT_SOCKET_RATE) and audio uploads (RT_UPLOAD_RATE).

Counts live in Redis when REDIS_URL is set, so that every server process
counts against the same limit; otherwise in this process's memory. A limiter
whose storage fails admits the client (logged at WARNING): a Redis outage must
not lock every candidate out of their interview.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage as AsyncMemoryStorage
from limits.aio.storage import RedisStorage as AsyncRedisStorage
from limits.aio.strategies import MovingWindowRateLimiter as AsyncMovingWindow
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)

# What is limited -> the settings.RT field holding its rates.
RATES = {"socket": "socket_rate", "upload": "upload_rate"}
KEY_PREFIX = "interview-rt-limits"
# A limit check waits this long for Redis at most, then admits.
REDIS_OPTIONS = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}

_lock = threading.Lock()
_sync: dict[str, MovingWindowRateLimiter] = {}
_async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncMovingWindow] = (
    weakref.WeakKeyDictionary()
)


@lru_cache
def parse_rates(text: str) -> tuple[RateLimitItem, ...]:
    """`"60/minute"`, `"10/second;300/hour"`; empty is no limit."""
    if not text.strip():
        return ()
    try:
        return tuple(parse_many(text))
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"Cannot read the rate {text!r}: write e.g. 60/minute or 10/second;300/hour."
        ) from exc


def rates(kind: str) -> tuple[RateLimitItem, ...]:
    return parse_rates(getattr(settings.RT, RATES[kind]))


def redis_url() -> str:
    return getattr(settings, "REDIS_URL", "")


def sync_limiter() -> MovingWindowRateLimiter:
    url = redis_url()
    with _lock:
        limiter = _sync.get(url)
        if limiter is None:
            storage = (
                RedisStorage(url, key_prefix=KEY_PREFIX, **REDIS_OPTIONS)
                if url
                else MemoryStorage()
            )
            limiter = _sync[url] = MovingWindowRateLimiter(storage)
        return limiter


def async_limiter() -> AsyncMovingWindow:
    # One per event loop: an asyncio Redis connection belongs to the loop that made it.
    loop = asyncio.get_running_loop()
    limiter = _async.get(loop)
    if limiter is None:
        url = redis_url()
        storage = (
            AsyncRedisStorage(
                url.replace("redis://", "async+redis://", 1).replace(
                    "rediss://", "async+rediss://", 1
                ),
                implementation="redispy",
                key_prefix=KEY_PREFIX,
                **REDIS_OPTIONS,
            )
            if url
            else AsyncMemoryStorage()
        )
        limiter = _async[loop] = AsyncMovingWindow(storage)
    return limiter


def hit(kind: str, client: str) -> float | None:
    """Count one `kind` from `client`: None when allowed, else the seconds
    until it would be."""
    items = rates(kind)
    if not items:
        return None
    limiter = sync_limiter()
    try:
        for item in items:
            if not limiter.hit(item, kind, client or "-"):
                reset_at = limiter.get_window_stats(item, kind, client or "-").reset_time
                return max(1.0, reset_at - time.time())
    except Exception as exc:  # storage down: admit, say so
        log.warning(
            "rate limit storage failed; admitting", extra={"kind": kind, "problem": str(exc)}
        )
    return None


async def ahit(kind: str, client: str) -> float | None:
    """`hit` for the event loop (the asyncio storage: nothing blocks)."""
    items = rates(kind)
    if not items:
        return None
    limiter = async_limiter()
    try:
        for item in items:
            if not await limiter.hit(item, kind, client or "-"):
                stats = await limiter.get_window_stats(item, kind, client or "-")
                return max(1.0, stats.reset_time - time.time())
    except Exception as exc:  # storage down: admit, say so
        log.warning(
            "rate limit storage failed; admitting", extra={"kind": kind, "problem": str(exc)}
        )
    return None


def reset() -> None:
    """Forget every count of this process's memory storages (tests)."""
    with _lock:
        _sync.clear()
    _async.clear()
