"""Make sure the default language has a speech model (bin/serve runs this).

If none is found (RT_VOSK_MODEL_PATH, RT_VOSK_MODELS_DIR, an installed
vosk-model-<lang> package), download the small model for the language from
DEFAULT_MODELS. Never fails the start-up: without a model the server runs and
voice answers get an error that names the fix; typed answers work.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from speech.model_registry import registry

# alphacephei's small models: about 40-90 MB each.
DEFAULT_MODELS = {
    "en": "vosk-model-small-en-us-0.15",
    "ko": "vosk-model-small-ko-0.22",
    "de": "vosk-model-small-de-0.15",
    "fr": "vosk-model-small-fr-0.22",
    "es": "vosk-model-small-es-0.42",
    "ja": "vosk-model-small-ja-0.22",
    "zh": "vosk-model-small-cn-0.22",
}


class Command(BaseCommand):
    help = "Download the default language's small Vosk model if no model is installed."

    def add_arguments(self, parser):
        parser.add_argument("--language", help="default: RT_DEFAULT_LANGUAGE")
        parser.add_argument("--base-url", help="passed on to download_vosk_model")
        parser.add_argument("--timeout", type=float, default=30.0, help="network timeout (s)")

    def handle(self, *args, language: str | None, base_url: str | None, timeout: float, **options):
        language = language or settings.RT.default_language
        if registry.available(language):
            self.stdout.write(f"Speech model for {language!r}: {registry.locate(language)}")
            return
        name = DEFAULT_MODELS.get(language)
        if name is None:
            self.stderr.write(
                f"No speech model for {language!r} and no default to download: run "
                "manage.py download_vosk_model <name> (see docs/speech.md)."
            )
            return
        self.stdout.write(f"No speech model for {language!r}; downloading {name} ...")
        try:
            extra = {"base_url": base_url} if base_url else {}
            call_command("download_vosk_model", name, language=language, timeout=timeout, **extra)
        except CommandError as exc:
            self.stderr.write(
                f"Could not download {name} ({exc}). The server runs without voice for "
                f"{language!r}: typed answers work. Install a model later with "
                f"manage.py download_vosk_model {name}, or set RT_VOSK_MODEL_PATH."
            )
