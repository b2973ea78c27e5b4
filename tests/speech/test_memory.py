"""Freed C memory given back to the system (speech/memory.py), as a recycled
recogniser's is."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from pathlib import Path

import pytest

from speech import memory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_freed_small_allocations_leave_the_process_after_a_trim():
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    # 200 MB in 2 KB pieces, as a recogniser's graph cache is many small ones;
    # every tenth piece kept back until the end, so the freed ones sit between
    # live ones (as another recogniser's do) and glibc keeps their pages.
    blocks = []
    for _ in range(100_000):
        block = libc.malloc(2048)
        libc.memset(block, 1, 2048)  # touched: resident
        blocks.append(block)
    kept = blocks[::10]
    for i, block in enumerate(blocks):
        if i % 10:
            libc.free(block)
    held = rss_mb()
    assert memory.release_freed_memory()
    trimmed = rss_mb()
    for block in kept:
        libc.free(block)
    assert held - trimmed > 100, (held, trimmed)  # about 180 MB of freed pieces
