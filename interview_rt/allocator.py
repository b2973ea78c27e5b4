"""The server process's C allocator (RT_ALLOCATOR): jemalloc when installed.

Vosk (Kaldi) spends much of its decoding time in malloc and free of small
C++ objects. With jemalloc preloaded the server took about 15% less CPU per
live interview than with glibc's malloc, and its answers were committed
sooner (benchmarks/capacity.py --allocators, docs/benchmarks.md, "The
allocator"). A library can only replace malloc before the process
starts, so the server command (interview_rt/serve.py) re-executes itself once
with LD_PRELOAD naming the library; everything else (tests, manage.py) keeps
the system's allocator.

RT_ALLOCATOR=system turns it off. Where jemalloc is not installed (it is a
Debian package, libjemalloc2, installed by bin/serve and the Docker image)
the server logs a warning and runs on the system's malloc.
"""

from __future__ import annotations

import ctypes.util
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

JEMALLOC_SONAME = "libjemalloc.so.2"
# Set in the re-executed process, so a preload that did not take is reported
# once instead of re-executing for ever.
REEXEC_MARKER = "RT_ALLOCATOR_PRELOADED"


def loaded(maps: Path = Path("/proc/self/maps")) -> str:
    """The allocator this process runs on: "jemalloc" if its library is mapped."""
    try:
        text = maps.read_text()
    except OSError:
        return "system"
    return "jemalloc" if "libjemalloc" in text else "system"


def find_jemalloc() -> str | None:
    """The name to preload, or None where jemalloc is not installed."""
    if ctypes.util.find_library("jemalloc") is None:
        return None
    return JEMALLOC_SONAME


def preload_env(environ: Mapping[str, str], library: str) -> dict[str, str]:
    """`environ` with `library` first in LD_PRELOAD (other preloads kept)."""
    others = [p for p in environ.get("LD_PRELOAD", "").split(":") if p and p != library]
    return {**environ, "LD_PRELOAD": ":".join([library, *others]), REEXEC_MARKER: "1"}


def ensure(allocator: str, command: Sequence[str]) -> None:
    """Re-execute `command` (a program and its arguments) with `allocator`
    preloaded unless this process already runs on it. Returns only when no
    re-exec is needed or possible, saying why in the log."""
    if allocator == "system" or loaded() == allocator:
        return
    if os.environ.get(REEXEC_MARKER):
        log.warning(
            "RT_ALLOCATOR=%s: preloaded but not loaded; running on the system's malloc",
            allocator,
        )
        return
    library = find_jemalloc()
    if library is None:
        log.warning(
            "RT_ALLOCATOR=jemalloc but jemalloc is not installed (Debian: libjemalloc2): "
            "running on the system's malloc, which costs the decoders more CPU"
        )
        return
    os.execve(command[0], list(command), preload_env(os.environ, library))


def server_command(argv: Sequence[str]) -> list[str]:
    """This interpreter running `python -m interview_rt.serve` with argv's arguments."""
    return [sys.executable, "-m", "interview_rt.serve", *argv[1:]]
