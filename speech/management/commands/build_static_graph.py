"""Compose a lookahead model's graph once, so recognisers stop composing it.

    manage.py build_static_graph            # the default language's model
    manage.py build_static_graph --language ko

Builds OpenFst (with its ngram and lookahead FST types) from source into
``<RT_VOSK_MODELS_DIR>/.openfst-<version>`` the first time (about 5 minutes
on two cores; needs g++ and make), then composes the model's HCLr.fst and
Gr.fst into one const HCLG.fst (about 2 minutes and 3.2 GB of RAM for the
small Korean model) in an overlay folder the registry prefers from then on.
docs/speech.md, "A static graph".
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from interviews.exceptions import SpeechUnavailable
from speech import static_graph
from speech.model_registry import normalise_language, registry


class Command(BaseCommand):
    help = (
        "Compose a Vosk lookahead model's HCLr.fst and Gr.fst into one static HCLG.fst "
        "(once per model; the registry then uses it): recognisers decode about twice as "
        "fast and stop growing, for ~1.1 GB of graph per process."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--language", help="Whose model to compose; default RT_DEFAULT_LANGUAGE."
        )
        parser.add_argument(
            "--openfst-url",
            default=static_graph.OPENFST_URL,
            help="Where the OpenFst source tarball is (its SHA-256 is checked).",
        )
        parser.add_argument(
            "--openfst-prefix",
            help="An OpenFst install with the ngram and lookahead FST types to use "
            "instead of building one.",
        )
        parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="Compiler jobs.")
        parser.add_argument("--force", action="store_true", help="Rebuild a current overlay.")

    def handle(self, *args, **options):
        rt = settings.RT
        language = normalise_language(options["language"] or rt.default_language)
        models_dir = rt.models_dir(settings.BASE_DIR)
        try:
            model = registry.locate(language, static=False)
        except SpeechUnavailable as exc:
            raise CommandError(str(exc)) from exc
        if not static_graph.is_lookahead_model(model):
            raise CommandError(
                f"{model} has no graph/HCLr.fst, Gr.fst and disambig_tid.int: its graph is "
                "already static (graph/HCLG.fst) or not a Vosk lookahead graph. Nothing to do."
            )
        existing = static_graph.overlay_for(model, models_dir)
        if existing is not None and not options["force"]:
            self.stdout.write(f"{existing} is current for {model}; --force rebuilds it.")
            return

        openfst = self._openfst(options, models_dir)
        overlays = models_dir / static_graph.OVERLAYS_FOLDER
        overlays.mkdir(parents=True, exist_ok=True)
        target = overlays / static_graph.overlay_name(language, model)
        free = shutil.disk_usage(overlays).free
        if free < 4 * 1024**3:
            raise CommandError(
                f"{overlays} has {free / 1024**3:.1f} GB free; the build needs about 4 GB."
            )
        started = time.monotonic()
        self.stdout.write(f"Composing {model} (a few minutes, ~3.2 GB of RAM) ...")
        with tempfile.TemporaryDirectory(prefix=".build-", dir=overlays) as tmp:
            work = Path(tmp)
            try:
                static_graph.compose(
                    model=model,
                    openfst=openfst,
                    work=work,
                    progress=lambda line: self.stdout.write(f"  {line}"),
                )
                static_graph.assemble(model=model, language=language, work=work, target=target)
            except static_graph.StaticGraphError as exc:
                # The scratch folder goes with this block: keep its log beside it.
                kept = overlays / f"build-{target.name}.log"
                if (work / "build.log").is_file():
                    shutil.copy2(work / "build.log", kept)
                raise CommandError(f"{exc}\nThe whole log is kept in {kept}.") from exc
        size = (target / "graph" / "HCLG.fst").stat().st_size
        self.stdout.write(
            self.style.SUCCESS(
                f"Built {target} ({size / 1024**2:.0f} MB HCLG.fst) in "
                f"{time.monotonic() - started:.0f} s."
            )
        )
        self.stdout.write(
            f"New server processes decode '{language}' with it (RT_VOSK_STATIC_GRAPH="
            f"{'on' if rt.vosk_static_graph else 'off: turn it on to use it'}); "
            "restart the running ones."
        )

    def _openfst(self, options, models_dir: Path) -> static_graph.OpenFst:
        if options["openfst_prefix"]:
            openfst = static_graph.OpenFst(Path(options["openfst_prefix"]).expanduser())
            if not openfst.complete():
                raise CommandError(
                    f"{openfst.prefix} is not an OpenFst install with "
                    f"{', '.join(static_graph.OPENFST_TOOLS)} and the extension types "
                    f"{', '.join(static_graph.OPENFST_EXTENSIONS)} (configure with "
                    "--enable-ngram-fsts --enable-lookahead-fsts --enable-bin)."
                )
            return openfst
        prefix = models_dir / f".openfst-{static_graph.OPENFST_VERSION}"
        openfst = static_graph.OpenFst(prefix)
        if openfst.complete():
            return openfst
        models_dir.mkdir(parents=True, exist_ok=True)
        self.stdout.write(
            f"Building OpenFst {static_graph.OPENFST_VERSION} into {prefix} "
            "(once; about 5 minutes on two cores) ..."
        )
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=".openfst-download-", dir=models_dir) as tmp:
            archive = Path(tmp) / "openfst.tar.gz"
            try:
                with httpx.stream(
                    "GET", options["openfst_url"], follow_redirects=True, timeout=60.0
                ) as response:
                    if response.status_code != 200:
                        raise CommandError(
                            f"{options['openfst_url']} answered HTTP {response.status_code}."
                        )
                    with archive.open("wb") as out:
                        for piece in response.iter_bytes(1 << 16):
                            out.write(piece)
            except httpx.HTTPError as exc:
                raise CommandError(
                    f"Could not download {options['openfst_url']}: {exc}. Pass --openfst-url "
                    "(a mirror of the same tarball) or --openfst-prefix."
                ) from exc
            try:
                openfst = static_graph.build_openfst(
                    prefix=prefix, archive=archive, jobs=options["jobs"]
                )
            except static_graph.StaticGraphError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(f"  OpenFst built in {time.monotonic() - started:.0f} s.")
        return openfst
