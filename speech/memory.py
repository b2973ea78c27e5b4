"""Giving freed recogniser memory back to the operating system.

A Vosk recogniser holds a few hundred MB of small C++ allocations (its
cache of the composed decoding graph). When one is closed, glibc's malloc
keeps the freed pages in its arenas for reuse, and a new recogniser, which
grows its cache in a different order, cannot use most of them: measured
in-process, five recognisers made, fed 100 s of new speech and closed one
after another left the process 173 MB larger than at the start; with
`malloc_trim(0)` after each close it was back where it started every time.
So a recycled recogniser's close is followed by a trim, and so is every
stream's end (the reset frees the utterance's lattices and buffers, which
would otherwise stay in the arenas of whichever decoder thread ran them): a
few milliseconds the first time, tens of microseconds after, in the decoder
pool. On a C library without malloc_trim (musl, macOS) it does nothing.
The server itself runs on jemalloc by default (interview_rt/allocator.py),
which purges freed pages by its own decay; the trim then finds glibc's
arenas empty and costs next to nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

log = logging.getLogger(__name__)


@functools.cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        log.info("malloc_trim is not available: freed recogniser memory stays with the process")
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_freed_memory() -> bool:
    """Return the C heap's free pages to the system; False where there is no
    malloc_trim."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
