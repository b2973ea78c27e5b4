"""Database calls of a live interview that survive a lost connection.

A database restart, a failover or a terminated backend leaves the database
thread's connection dead: its next query raises OperationalError or
InterfaceError. Each call made here is one transaction (or a read), so a failed
try wrote nothing and is safe to run again on a fresh connection:
`close_old_connections` drops the dead one before the next try.

Two ways to wait (docs/reliability.md):

- `retrying`: a few tries (`RT_DB_RETRY_ATTEMPTS`), then `StorageUnavailable`
  (REST answers 503; a transcript line is skipped, its words stay in the turn);
- `patiently`: the same tries, then the task's waiting hook (`keep_trying`) is
  told once, so the candidate hears that the answer is kept, and the call goes
  on trying until the database is back or the task is cancelled. Without a
  hook it behaves as `retrying`.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections

from interviews.exceptions import DomainError

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

LOST_CONNECTION = (OperationalError, InterfaceError)


class StorageUnavailable(DomainError):
    code = "storage_unavailable"
    http_status = 503


Waiting = Callable[[StorageUnavailable], Awaitable[None]]

# Set by the task that may wait for the database as long as it takes (a live
# interview's input and AI tasks): told once per call that had to wait.
_waiting: contextvars.ContextVar[Waiting | None] = contextvars.ContextVar(
    "storage_waiting", default=None
)


def keep_trying(on_wait: Waiting) -> None:
    """From now on, in this task, `patiently` waits for the database and tells `on_wait`."""
    _waiting.set(on_wait)


async def retrying(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """`fn` on the database thread; a few tries, then StorageUnavailable."""
    return await _call(fn, args, kwargs, None)


async def patiently(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """`fn` on the database thread; after a few tries, keep trying if this task may wait."""
    return await _call(fn, args, kwargs, _waiting.get())


async def _call(fn: Callable, args: tuple, kwargs: dict, on_wait: Waiting | None):
    rt = settings.RT
    call = database_sync_to_async(_dropping_dead_connections(fn))
    what = getattr(fn, "__name__", "database call")
    tries = 0
    while True:
        try:
            result = await call(*args, **kwargs)
        except LOST_CONNECTION as exc:
            tries += 1
            log.warning(
                "database unavailable", extra={"call": what, "try": tries, "reason": str(exc)}
            )
            if tries >= rt.db_retry_attempts:
                unavailable = StorageUnavailable(
                    "The database is unavailable. "
                    + ("The answer is kept and saved once it is back." if on_wait else "Try again.")
                )
                if on_wait is None:
                    raise unavailable from exc
                if tries == rt.db_retry_attempts:
                    await on_wait(unavailable)
            await asyncio.sleep(
                min(rt.db_retry_max_delay_s, rt.db_retry_delay_s * 2 ** (tries - 1))
            )
            continue
        if tries:
            log.warning("database back", extra={"call": what, "tries": tries + 1})
        return result


def _dropping_dead_connections(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LOST_CONNECTION:
            # The failed query marked the connection; this closes it unless it
            # answers again, so the next try opens a new one.
            close_old_connections()
            raise

    return run
