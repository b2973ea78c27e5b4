"""Named thread pools for blocking work: never on the event loop.

Each pool runs one kind of work and is sized by its setting in settings.RT:

- ``stt``: Vosk decoding (``stt_threads``; one decoder per thread);
- ``evaluation``: LLM evaluations after an interview ends (``evaluation_threads``);
- ``reports``: ReportLab PDF building (``report_threads``).

A pool is made at first use with the size its setting has then; a different
size later (tests override settings) gets a pool of its own. Threads carry the
pool's name in the OS as well (``top -H`` shows stt_0, stt_1, ...).
``shutdown()`` stops them all; it runs at interpreter exit.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.conf import settings

T = TypeVar("T")

# Pool name -> the settings.RT field that sizes it.
SIZES = {
    "stt": "stt_threads",
    "evaluation": "evaluation_threads",
    "reports": "report_threads",
}

_pools: dict[tuple[str, int], ThreadPoolExecutor] = {}
_lock = threading.Lock()


def size(name: str) -> int:
    """The thread count the pool `name` has (its setting, at least 1)."""
    return max(1, int(getattr(settings.RT, SIZES[name])))


def executor(name: str) -> ThreadPoolExecutor:
    """The pool `name` (KeyError for a name not in SIZES)."""
    threads = size(name)
    with _lock:
        pool = _pools.get((name, threads))
        if pool is None:
            pool = _pools[(name, threads)] = ThreadPoolExecutor(
                max_workers=threads, thread_name_prefix=name, initializer=_name_os_thread
            )
        return pool


async def run(name: str, call: Callable[..., T], *args: Any) -> T:
    """`call(*args)` in the pool `name`, awaited from the event loop."""
    return await asyncio.get_running_loop().run_in_executor(executor(name), call, *args)


def shutdown(*, wait: bool = True) -> None:
    """Stop every pool (queued work is cancelled; running work finishes when `wait`)."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=wait, cancel_futures=True)


atexit.register(shutdown, wait=False)


def _name_os_thread() -> None:
    """Give a pool thread its Python name in the OS too (Linux), so `top -H`
    and /proc/<pid>/task/*/comm show e.g. the decoder threads as stt_0, stt_1."""
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(15, threading.current_thread().name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass  # not Linux: the names are cosmetic
