"""The soak's census of a server's heap (benchmarks/soak.py --census).

Loaded at start-up by a server run with this folder on PYTHONPATH; on
SIGUSR1 it appends one JSON line to $RT_CENSUS_FILE: Python's allocated
blocks, glibc's malloc counters (mallinfo2) and the live objects by type.
A diagnostic only (the count walks every object, blocking the loop for a
moment): never part of the product.
"""

import collections
import ctypes
import gc
import json
import os
import signal
import sys


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _describe(obj) -> str:
    text = (
        repr(obj)
        if not isinstance(obj, dict | list | tuple)
        else f"{type(obj).__qualname__} of {len(obj)}"
    )
    return f"{type(obj).__module__}.{type(obj).__qualname__}: {text[:120]}"


def _holders(obj, depth: int, seen: set[int]) -> list:
    """Who refers to `obj`, `depth` levels up (frames and this module left out)."""
    if depth == 0:
        return []
    out = []
    for holder in gc.get_referrers(obj):
        if id(holder) in seen or type(holder).__name__ == "frame":
            continue
        seen.add(id(holder))
        out.append([_describe(holder), _holders(holder, depth - 1, seen)])
        if len(out) >= 4:
            break
    return out


def _census(*_):
    gc.collect()  # what is left is held, not garbage waiting for a collection
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    types = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
    line = {
        "blocks": sys.getallocatedblocks(),
        "malloc_in_use": info.uordblks + info.hblkhd,
        "malloc_free": info.fordblks,
        "objects": len(gc.get_objects()),
        "types": dict(types),
    }
    # RT_CENSUS_HOLDERS=ModelState,Headers: who holds the oldest few of each
    # (RT_CENSUS_DEPTH levels up).
    wanted = [t for t in os.environ.get("RT_CENSUS_HOLDERS", "").split(",") if t]
    if wanted:
        depth = int(os.environ.get("RT_CENSUS_DEPTH", "4"))
        objects = gc.get_objects()
        line["holders"] = {
            name: [
                [_describe(o), _holders(o, depth, {id(objects)})]
                for o in [o for o in objects if type(o).__qualname__ == name][:3]
            ]
            for name in wanted
        }
        del objects
    with open(os.environ["RT_CENSUS_FILE"], "a") as out:
        out.write(json.dumps(line) + "\n")


if os.environ.get("RT_CENSUS_FILE"):
    signal.signal(signal.SIGUSR1, _census)
