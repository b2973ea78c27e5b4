"""Static decoding graphs (speech/static_graph.py, manage.py build_static_graph).

The build's steps run here with Debian's OpenFst tools on small FSTs of the
same shape as a lookahead model's (HCLr's input labels are transition ids, its
outputs word ids; Gr carries the word symbols): the composed graph, the
relabelled disambiguation ids, the const type and words.txt are checked with
OpenFst's own fstprint and fstinfo. Building OpenFst with the extension types
and composing the real Korean graph takes about 7 minutes and 3.2 GB of RAM,
more than the suite (11-13 minutes of a 15-minute budget) can add: that was
run by hand with the command and measured with benchmarks/static_graph.py
(docs/benchmarks.md, "A static graph in the product").
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from speech import static_graph
from speech.model_registry import ModelRegistry, registry

pytestmark = pytest.mark.speech

TOOLS = shutil.which("fstcompose") and Path(shutil.which("fstcompose")).parent

WORDS = ["<eps>", "안녕", "하세요", "감사"]
# HCLr: transition ids in, word ids out; ids 4 and 5 are disambiguation symbols.
HCLR = """0 1 1 1
1 2 4 0
2 3 2 2
1 4 5 0
4 3 3 3
3
"""
# Gr: 안녕 (하세요 | 감사).
GR = """0 1 안녕 안녕
1 2 하세요 하세요
1 2 감사 감사
2
"""


def compile_fst(text: str, path: Path, symbols: Path | None = None) -> None:
    source = path.with_suffix(".txt")
    source.write_text(text)
    flags = []
    if symbols is not None:
        flags = [
            f"--isymbols={symbols}",
            f"--osymbols={symbols}",
            "--keep_isymbols",
            "--keep_osymbols",
        ]
    subprocess.run(["fstcompile", *flags, str(source), str(path)], check=True)
    source.unlink()


@pytest.fixture
def lookahead_model(tmp_path) -> Path:
    """A model folder shaped like vosk-model-small-ko's, with a tiny graph."""
    if TOOLS is None:
        pytest.skip("OpenFst's tools (Debian: libfst-tools) are not installed")
    model = tmp_path / "source" / "vosk-model-tiny"
    for folder in ("am", "conf", "ivector", "graph/phones"):
        (model / folder).mkdir(parents=True)
    (model / "am" / "final.mdl").write_bytes(b"acoustic model")
    (model / "conf" / "model.conf").write_text("--beam=10\n")
    (model / "ivector" / "final.ie").write_bytes(b"ivector extractor")
    (model / "graph" / "phones" / "word_boundary.int").write_text("1 begin\n")
    (model / "graph" / "phones.txt").write_text("<eps> 0\n")
    (model / "README").write_text("tiny\n")
    words = tmp_path / "words.txt"
    words.write_text("".join(f"{w} {i}\n" for i, w in enumerate(WORDS)))
    compile_fst(HCLR, model / "graph" / "HCLr.fst")
    compile_fst(GR, model / "graph" / "Gr.fst", symbols=words)
    (model / "graph" / "disambig_tid.int").write_text("4\n5\n")
    return model


@pytest.fixture
def debian_openfst(tmp_path) -> static_graph.OpenFst:
    """Debian's OpenFst tools behind the prefix layout the build installs."""
    prefix = tmp_path / "openfst"
    (prefix / "bin").mkdir(parents=True)
    for name in static_graph.OPENFST_TOOLS:
        os.symlink(TOOLS / name, prefix / "bin" / name)
    return static_graph.OpenFst(prefix)


def arcs(fst: Path) -> list[tuple[int, ...]]:
    printed = subprocess.run(
        ["fstprint", str(fst)], check=True, capture_output=True, text=True
    ).stdout
    return [tuple(int(x) for x in line.split()) for line in printed.splitlines()]


def info(fst: Path) -> dict[str, str]:
    printed = subprocess.run(["fstinfo", str(fst)], check=True, capture_output=True, text=True)
    return {
        line[:50].strip(): line[50:].strip()
        for line in printed.stdout.splitlines()
        if len(line) > 50
    }


def test_compose_gives_a_const_graph_with_the_disambiguation_ids_gone(
    lookahead_model, debian_openfst, tmp_path
):
    work = tmp_path / "work"
    work.mkdir()
    steps: list[str] = []
    hclg = static_graph.compose(
        model=lookahead_model, openfst=debian_openfst, work=work, progress=steps.append
    )

    assert [s.split(":")[0] for s in steps] == ["words", "symbols", "compose", "relabel", "const"]
    assert info(hclg)["fst type"] == "const"
    printed = arcs(hclg)
    # The two paths of Gr through HCLr, with ids 4 and 5 now epsilon (what
    # Vosk's lazy composition makes of them) and every other label kept.
    transitions = [a for a in printed if len(a) >= 4]
    assert sorted((a[2], a[3]) for a in transitions) == [(0, 0), (0, 0), (1, 1), (2, 2), (3, 3)]
    assert not {4, 5} & {a[2] for a in transitions}
    # words.txt is Gr's output symbol table, which an HCLG model reads instead.
    assert (work / "words.txt").read_text().split() == " ".join(
        f"{w} {i}" for i, w in enumerate(WORDS)
    ).split()
    # Only the results are left: the intermediates are removed once used.
    assert sorted(p.name for p in work.iterdir()) == ["HCLG.fst", "build.log", "words.txt"]


def test_a_failing_step_names_its_command_and_output(lookahead_model, debian_openfst, tmp_path):
    (lookahead_model / "graph" / "Gr.fst").write_bytes(b"not an fst")
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(static_graph.StaticGraphError) as caught:
        static_graph.compose(model=lookahead_model, openfst=debian_openfst, work=work)
    assert "fstsymbols" in str(caught.value)
    assert "failed (exit" in str(caught.value)
    assert "build.log" in str(caught.value)


def test_disambiguation_pairs_map_every_listed_id_to_epsilon():
    model = registry.locate("ko", static=False)
    ids = (model / "graph" / "disambig_tid.int").read_text().split()
    pairs = static_graph.disambiguation_pairs(model)
    assert len(ids) == 22  # the small Korean model's
    assert pairs.splitlines() == [f"{i} 0" for i in ids]


def build_overlay(model: Path, models_dir: Path, openfst: static_graph.OpenFst) -> Path:
    overlays = models_dir / static_graph.OVERLAYS_FOLDER
    work = overlays / ".build-test"
    work.mkdir(parents=True)
    static_graph.compose(model=model, openfst=openfst, work=work)
    target = overlays / static_graph.overlay_name("ko", model)
    static_graph.assemble(model=model, language="ko", work=work, target=target)
    shutil.rmtree(work)
    return target


def test_the_overlay_holds_the_graph_a_copy_of_the_model_and_a_marker(
    lookahead_model, debian_openfst, tmp_path
):
    overlay = build_overlay(lookahead_model, tmp_path / "models", debian_openfst)

    assert overlay.name.startswith("ko-vosk-model-tiny-")
    assert (overlay / "graph" / "HCLG.fst").is_file()
    assert not (overlay / "graph" / "HCLr.fst").exists()
    assert not (overlay / "graph" / "Gr.fst").exists()
    # Copies, not links: an upgraded package must not change a built overlay.
    assert (overlay / "am" / "final.mdl").read_bytes() == b"acoustic model"
    assert not (overlay / "am").is_symlink()
    assert (overlay / "graph" / "phones" / "word_boundary.int").is_file()
    assert (overlay / "README").read_text() == "tiny\n"
    assert (overlay / "graph" / "disambig_tid.int").is_file()  # everything but the two halves
    marker = json.loads((overlay / static_graph.MARKER).read_text())
    assert marker["source"] == str(lookahead_model.resolve())
    assert marker["openfst"] == "1.7.9"
    assert marker["hclg_bytes"] == (overlay / "graph" / "HCLG.fst").stat().st_size
    assert static_graph.overlay_for(lookahead_model, tmp_path / "models") == overlay


def test_the_registry_prefers_a_current_overlay_and_drops_a_stale_one(
    lookahead_model, debian_openfst, tmp_path, caplog
):
    models_dir = tmp_path / "models"
    overlay = build_overlay(lookahead_model, models_dir, debian_openfst)
    rt = replace(
        settings.RT,
        vosk_model_path=str(lookahead_model),
        vosk_models_dir=str(models_dir),
        vosk_static_graph=True,
    )
    with override_settings(RT=rt):
        assert registry.locate("ko") == overlay.resolve()
        assert registry.locate("ko", static=False) == lookahead_model.resolve()
    with override_settings(RT=replace(rt, vosk_static_graph=False)):
        assert registry.locate("ko") == lookahead_model.resolve()

    # The source changed (a reinstalled package): the overlay is stale.
    grammar = lookahead_model / "graph" / "Gr.fst"
    os.utime(grammar, ns=(grammar.stat().st_atime_ns, grammar.stat().st_mtime_ns + 10**9))
    with override_settings(RT=rt), caplog.at_level(logging.WARNING, "speech.static_graph"):
        assert registry.locate("ko") == lookahead_model.resolve()
    assert "build_static_graph" in caplog.text


def test_a_process_keeps_the_graph_it_loaded_until_restart(tmp_path):
    """An overlay built while a server runs is for its next start: the running
    process does not load a second, 1 GB graph beside the one in use."""
    source = registry.locate("ko", static=False)
    registry.model_for("ko")  # loaded with the tests' setting: the lazy graph
    models_dir = tmp_path / "models"
    work = models_dir / static_graph.OVERLAYS_FOLDER / ".build-test"
    work.mkdir(parents=True)
    (work / "HCLG.fst").write_bytes(b"not loaded by this test")
    (work / "words.txt").write_text("<eps> 0\n")
    overlay = static_graph.assemble(
        model=source,
        language="ko",
        work=work,
        target=models_dir / static_graph.OVERLAYS_FOLDER / static_graph.overlay_name("ko", source),
    )
    rt = replace(settings.RT, vosk_models_dir=str(models_dir), vosk_static_graph=True)
    with override_settings(RT=rt):
        assert registry.locate("ko") == source
        assert registry.model_for("ko") is registry.model_for("ko")
        assert source in registry.loaded() and overlay.resolve() not in registry.loaded()
        # A process starting now would take the overlay.
        assert ModelRegistry().locate("ko") == overlay.resolve()


def test_an_overlay_without_its_marker_is_not_used(lookahead_model, debian_openfst, tmp_path):
    models_dir = tmp_path / "models"
    overlay = build_overlay(lookahead_model, models_dir, debian_openfst)
    (overlay / static_graph.MARKER).unlink()  # a build cut off before its last step
    assert static_graph.overlay_for(lookahead_model, models_dir) is None


def test_the_command_composes_with_a_given_openfst_and_then_has_nothing_to_do(
    lookahead_model, debian_openfst, tmp_path
):
    # The command insists on the extension types (the real graphs need them);
    # Debian's tools stand in for a build that has them, on this tiny graph.
    for name in static_graph.OPENFST_EXTENSIONS:
        (debian_openfst.prefix / "lib" / "fst").mkdir(parents=True, exist_ok=True)
        (debian_openfst.prefix / "lib" / "fst" / name).write_bytes(b"")
    models_dir = tmp_path / "models"
    rt = replace(
        settings.RT,
        vosk_model_path=str(lookahead_model),
        vosk_models_dir=str(models_dir),
        vosk_static_graph=True,
    )
    out = []
    with override_settings(RT=rt):
        call_command(
            "build_static_graph",
            "--openfst-prefix",
            str(debian_openfst.prefix),
            stdout=_Lines(out),
        )
        overlay = registry.locate("ko")
        call_command("build_static_graph", stdout=_Lines(out))
    assert overlay.parent == (models_dir / static_graph.OVERLAYS_FOLDER).resolve()
    assert any(line.startswith("Built ") for line in out), out
    assert f"{overlay} is current" in out[-1]
    # No scratch folder is left behind.
    assert [p.name for p in overlay.parent.iterdir()] == [overlay.name]


def test_a_failed_build_keeps_its_log_and_leaves_no_overlay(
    lookahead_model, debian_openfst, tmp_path
):
    for name in static_graph.OPENFST_EXTENSIONS:
        (debian_openfst.prefix / "lib" / "fst").mkdir(parents=True, exist_ok=True)
        (debian_openfst.prefix / "lib" / "fst" / name).write_bytes(b"")
    (lookahead_model / "graph" / "HCLr.fst").write_bytes(b"not an fst")
    models_dir = tmp_path / "models"
    rt = replace(settings.RT, vosk_model_path=str(lookahead_model), vosk_models_dir=str(models_dir))
    with override_settings(RT=rt), pytest.raises(CommandError) as caught:
        call_command("build_static_graph", "--openfst-prefix", str(debian_openfst.prefix))
    overlays = models_dir / static_graph.OVERLAYS_FOLDER
    logs = list(overlays.glob("build-*.log"))
    assert [p.name for p in overlays.iterdir()] == [logs[0].name]  # no overlay, no scratch
    assert str(logs[0]) in str(caught.value) and "fstcompose" in str(caught.value)
    assert "$ " in logs[0].read_text() and "fstcompose" in logs[0].read_text()


def test_the_command_refuses_a_model_that_is_already_static(tmp_path):
    model = tmp_path / "static-model"
    (model / "am").mkdir(parents=True)
    (model / "am" / "final.mdl").write_bytes(b"x")
    (model / "graph").mkdir()
    (model / "graph" / "HCLG.fst").write_bytes(b"x")
    with (
        override_settings(RT=replace(settings.RT, vosk_model_path=str(model))),
        pytest.raises(CommandError, match="already static"),
    ):
        call_command("build_static_graph")


def test_the_command_refuses_an_openfst_without_the_extension_types(
    lookahead_model, debian_openfst
):
    with (
        override_settings(RT=replace(settings.RT, vosk_model_path=str(lookahead_model))),
        pytest.raises(CommandError, match="--enable-ngram-fsts --enable-lookahead-fsts"),
    ):
        call_command("build_static_graph", "--openfst-prefix", str(debian_openfst.prefix))


def test_openfst_is_not_built_from_a_tarball_with_another_checksum(tmp_path):
    archive = tmp_path / "openfst.tar.gz"
    archive.write_bytes(b"something else")
    ran = []
    with pytest.raises(static_graph.StaticGraphError, match="refusing to build it"):
        static_graph.build_openfst(
            prefix=tmp_path / "prefix",
            archive=archive,
            jobs=2,
            runner=lambda *args: ran.append(args),
        )
    assert ran == []
    assert not (tmp_path / "prefix").exists()


class _Lines:
    """A stdout for call_command that keeps whole lines."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def write(self, text: str) -> None:
        self.lines.extend(line for line in text.splitlines() if line)

    def flush(self) -> None:
        pass
