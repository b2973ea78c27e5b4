"""The speech engine in use: settings.RT.speech_engine, imported once.

RT_SPEECH_ENGINE is the dotted path of a class implementing
speech.interface.Recognizer, made with no arguments. It is resolved when a
stream opens or a recording is transcribed (never per frame) and the
instance is kept for the process, one per path.
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .interface import Recognizer

_engines: dict[str, Recognizer] = {}
_lock = threading.Lock()


def current() -> Recognizer:
    """The engine settings.RT.speech_engine names (ImproperlyConfigured if it
    cannot be imported or does not implement Recognizer)."""
    path = settings.RT.speech_engine
    engine = _engines.get(path)
    if engine is None:
        with _lock:
            engine = _engines.get(path)
            if engine is None:
                engine = _engines[path] = load(path)
    return engine


def load(path: str) -> Recognizer:
    """A new instance of the engine class at dotted `path`."""
    try:
        factory = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"RT_SPEECH_ENGINE={path!r} cannot be imported: {exc}") from exc
    engine = factory()
    if not isinstance(engine, Recognizer):
        raise ImproperlyConfigured(
            f"RT_SPEECH_ENGINE={path!r} is not a speech engine: it must implement "
            "speech.interface.Recognizer (available, load, open)."
        )
    return engine
