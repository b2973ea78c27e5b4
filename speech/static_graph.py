"""Static decoding graphs: a model's HCLr.fst and Gr.fst composed once.

Lookahead models such as the small Korean one ship `graph/HCLr.fst` (an
olabel-lookahead FST) and `graph/Gr.fst` (an ngram FST), and every Vosk
recogniser composes them lazily and keeps what it composed: about half of
decoding and the memory a recogniser gains with each new word
(docs/benchmarks.md, "Where the rest goes"). Composed once into one const
`graph/HCLG.fst`, the graph costs ~1.1 GB per process instead of ~0.45 GB,
decodes twice as fast with identical transcripts, and recognisers stop
growing.

`manage.py build_static_graph` builds an *overlay*: a folder under
``<RT_VOSK_MODELS_DIR>/static-graphs/`` with a copy of the model's small parts
(am, conf, ivector, phones), the composed `graph/HCLG.fst`, `graph/words.txt`,
and a `static-graph.json` marker written last. The registry uses an overlay in
place of its source model while the marker's fingerprint of the source still
matches (RT_VOSK_STATIC_GRAPH). docs/speech.md, "A static graph", has the
rules; this module holds the steps so that tests can check them piece by piece.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

OVERLAYS_FOLDER = "static-graphs"
MARKER = "static-graph.json"
MARKER_FORMAT = 1

# OpenFst with the ngram and lookahead FST types Vosk's graphs use. Debian's
# binary packages and pynini's wheel lack them, so the command builds it once
# from the upstream source Debian mirrors (the orig tarball of bookworm's
# openfst 1.7.9, checksum pinned).
OPENFST_VERSION = "1.7.9"
OPENFST_URL = "http://deb.debian.org/debian/pool/main/o/openfst/openfst_1.7.9.orig.tar.gz"
OPENFST_SHA256 = "a8bcd9a5da04b5277523dc8c99c378667fd4ae7f90a1ef5eb808e75c3936c1b7"
OPENFST_CONFIGURE_FLAGS = (
    "--enable-ngram-fsts",
    "--enable-lookahead-fsts",
    "--enable-bin",
    "--disable-static",
)
OPENFST_TOOLS = ("fstcompose", "fstsymbols", "fstrelabel", "fstconvert", "fstinfo")
# The FST types the tools must be able to read (loaded from lib/fst by type name).
OPENFST_EXTENSIONS = ("ngram-fst.so", "olabel_lookahead-fst.so")

# What the overlay does not copy from its source: the two halves it composes.
COMPOSED = ("graph/HCLr.fst", "graph/Gr.fst")


class StaticGraphError(Exception):
    """A static graph cannot be built from this model or with these tools."""


def is_lookahead_model(model: Path) -> bool:
    """A model whose graph is composed at run time (what an overlay replaces)."""
    graph = model / "graph"
    return all((graph / name).is_file() for name in ("HCLr.fst", "Gr.fst", "disambig_tid.int"))


def fingerprint(model: Path) -> dict[str, list[int]]:
    """Size and mtime (ns) of every file of the model (a few dozen): the graph's
    halves and everything the overlay copies."""
    prints: dict[str, list[int]] = {}
    for path in sorted(model.rglob("*")):
        if path.is_file():
            stat = path.stat()
            prints[path.relative_to(model).as_posix()] = [stat.st_size, stat.st_mtime_ns]
    return prints


def overlay_name(language: str, model: Path) -> str:
    """A folder name per source model: readable, and distinct per source path."""
    digest = hashlib.sha256(str(model.resolve()).encode()).hexdigest()[:10]
    label = model.name if model.name != "model" else model.parent.name
    return f"{language}-{label}-{digest}"


def overlay_for(model: Path, models_dir: Path) -> Path | None:
    """The complete, current overlay built from `model`, or None.

    An overlay whose source has changed since (a reinstalled package, a new
    download) is ignored with a warning: it would decode a stale graph.
    """
    folder = models_dir / OVERLAYS_FOLDER
    if not folder.is_dir() or not is_lookahead_model(model):
        return None
    source = str(model.resolve())
    for candidate in sorted(folder.iterdir()):
        marker = read_marker(candidate)
        if marker is None or marker.get("source") != source:
            continue
        try:
            current = fingerprint(model)
        except OSError:
            return None
        if marker.get("fingerprint") != current:
            log.warning(
                "Static graph %s was built from an earlier %s; using the model's own graph. "
                "Run `manage.py build_static_graph` again to rebuild it.",
                candidate,
                model,
            )
            continue
        if not (candidate / "graph" / "HCLG.fst").is_file():
            continue
        return candidate
    return None


def read_marker(overlay: Path) -> dict | None:
    try:
        marker = json.loads((overlay / MARKER).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("format") != MARKER_FORMAT:
        return None
    return marker


def disambiguation_pairs(model: Path) -> str:
    """`fstrelabel --relabel_ipairs` text mapping each disambiguation transition
    id to epsilon, which is what Vosk's lazy composition does with them."""
    ids = (model / "graph" / "disambig_tid.int").read_text().split()
    if not ids or not all(token.isdigit() for token in ids):
        raise StaticGraphError(
            f"{model / 'graph' / 'disambig_tid.int'} does not list transition ids."
        )
    return "".join(f"{token} 0\n" for token in ids)


# -- OpenFst ----------------------------------------------------------------------


@dataclass(frozen=True)
class OpenFst:
    """An OpenFst install with the extension FST types."""

    prefix: Path

    @property
    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        libs = [str(self.prefix / "lib"), str(self.prefix / "lib" / "fst")]
        if env.get("LD_LIBRARY_PATH"):
            libs.append(env["LD_LIBRARY_PATH"])
        env["LD_LIBRARY_PATH"] = os.pathsep.join(libs)
        return env

    def tool(self, name: str) -> str:
        return str(self.prefix / "bin" / name)

    def complete(self) -> bool:
        return all((self.prefix / "bin" / name).is_file() for name in OPENFST_TOOLS) and all(
            (self.prefix / "lib" / "fst" / name).is_file() for name in OPENFST_EXTENSIONS
        )


Runner = Callable[[list[str], dict[str, str], Path], None]


def run(command: list[str], env: dict[str, str], cwd: Path) -> None:
    """Run one build step; its output goes to a log beside it, shown on failure."""
    log_path = cwd / "build.log"
    with log_path.open("ab") as out:
        out.write(("\n$ " + " ".join(command) + "\n").encode())
        out.flush()
        completed = subprocess.run(  # noqa: S603 - fixed tool paths, no shell
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
        )
    if completed.returncode != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-15:]
        raise StaticGraphError(
            f"`{' '.join(command)}` failed (exit {completed.returncode}); the last lines of "
            f"{log_path}:\n" + "\n".join(tail)
        )


def build_openfst(
    *,
    prefix: Path,
    archive: Path,
    jobs: int,
    runner: Runner = run,
) -> OpenFst:
    """Configure, compile and install OpenFst from `archive` into `prefix`
    (about 5 minutes on two cores). The archive must match OPENFST_SHA256."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != OPENFST_SHA256:
        raise StaticGraphError(
            f"{archive} has SHA-256 {digest}, expected {OPENFST_SHA256} (OpenFst "
            f"{OPENFST_VERSION}): refusing to build it."
        )
    missing = [tool for tool in ("g++", "make") if shutil.which(tool) is None]
    if missing:
        raise StaticGraphError(
            f"Building OpenFst needs {' and '.join(missing)} (Debian: apt-get install g++ make)."
        )
    work = prefix.parent / f".build-{prefix.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with tarfile.open(archive) as bundle:
        bundle.extractall(work, filter="data")
    sources = [p for p in work.iterdir() if p.is_dir()]
    if len(sources) != 1:
        raise StaticGraphError(f"{archive} does not unpack to one source folder.")
    source = sources[0]
    env = dict(os.environ, CXXFLAGS="-O2")
    runner(["./configure", f"--prefix={prefix}", *OPENFST_CONFIGURE_FLAGS], env, source)
    runner(["make", f"-j{max(1, jobs)}"], env, source)
    runner(["make", "install"], env, source)
    openfst = OpenFst(prefix)
    if not openfst.complete():
        raise StaticGraphError(
            f"OpenFst installed in {prefix} lacks {', '.join(OPENFST_TOOLS)} or the "
            f"extension types {', '.join(OPENFST_EXTENSIONS)}; see {source / 'build.log'}."
        )
    shutil.rmtree(work, ignore_errors=True)
    return openfst


# -- the graph --------------------------------------------------------------------


def compose(
    *,
    model: Path,
    openfst: OpenFst,
    work: Path,
    runner: Runner = run,
    progress: Callable[[str], None] = lambda _line: None,
) -> Path:
    """Compose `model`'s HCLr.fst and Gr.fst into `work/HCLG.fst` (const FST)
    and `work/words.txt`; intermediate files are removed as soon as used."""
    graph = model / "graph"
    env = openfst.environment
    pairs = work / "disambig_pairs.txt"
    pairs.write_text(disambiguation_pairs(model))
    steps = [
        # Vosk reads words from Gr.fst's output symbols; an HCLG model reads graph/words.txt.
        (
            "words",
            [
                openfst.tool("fstsymbols"),
                "--save_osymbols=words.txt",
                str(graph / "Gr.fst"),
                "/dev/null",
            ],
            [],
        ),
        # A composition that kept Gr's symbol tables could not be read back by 1.7.9's tools.
        (
            "symbols",
            [
                openfst.tool("fstsymbols"),
                "--clear_isymbols",
                "--clear_osymbols",
                str(graph / "Gr.fst"),
                "Gr.nosym.fst",
            ],
            [],
        ),
        (
            "compose",
            [
                openfst.tool("fstcompose"),
                str(graph / "HCLr.fst"),
                "Gr.nosym.fst",
                "HCLG.vector.fst",
            ],
            ["Gr.nosym.fst"],
        ),
        (
            "relabel",
            [
                openfst.tool("fstrelabel"),
                f"--relabel_ipairs={pairs.name}",
                "HCLG.vector.fst",
                "HCLG.relabelled.fst",
            ],
            ["HCLG.vector.fst", pairs.name],
        ),
        (
            "const",
            [openfst.tool("fstconvert"), "--fst_type=const", "HCLG.relabelled.fst", "HCLG.fst"],
            ["HCLG.relabelled.fst"],
        ),
    ]
    for label, command, done_with in steps:
        started = time.monotonic()
        runner(command, env, work)
        for name in done_with:
            (work / name).unlink(missing_ok=True)
        progress(f"{label}: {time.monotonic() - started:.0f} s")
    for name in ("HCLG.fst", "words.txt"):
        if not (work / name).is_file():
            raise StaticGraphError(f"The build left no {name} in {work}.")
    return work / "HCLG.fst"


def assemble(
    *,
    model: Path,
    language: str,
    work: Path,
    target: Path,
    openfst_version: str = OPENFST_VERSION,
) -> Path:
    """Move the composed graph and a copy of the model's other parts into
    `target`, writing the marker last so a half-built overlay is never used."""
    staging = work / "overlay"
    shutil.rmtree(staging, ignore_errors=True)
    composed = {(model / name).resolve() for name in COMPOSED}

    def left_out(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if (Path(folder) / n).resolve() in composed}

    # Everything else of the model (am, conf, ivector, phones, a rescoring LM...):
    # copies, so an upgraded package cannot change a built overlay.
    shutil.copytree(model, staging, ignore=left_out)
    (staging / "graph").mkdir(exist_ok=True)
    os.replace(work / "HCLG.fst", staging / "graph" / "HCLG.fst")
    os.replace(work / "words.txt", staging / "graph" / "words.txt")
    marker = {
        "format": MARKER_FORMAT,
        "language": language,
        "source": str(model.resolve()),
        "fingerprint": fingerprint(model),
        "openfst": openfst_version,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "hclg_bytes": (staging / "graph" / "HCLG.fst").stat().st_size,
    }
    previous = None
    if target.exists():
        previous = work / "previous"
        shutil.rmtree(previous, ignore_errors=True)
        os.replace(target, previous)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, target)
    # Last: the registry only trusts a folder with a complete marker.
    (target / f"{MARKER}.tmp").write_text(json.dumps(marker, indent=2) + "\n")
    os.replace(target / f"{MARKER}.tmp", target / MARKER)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
    return target
