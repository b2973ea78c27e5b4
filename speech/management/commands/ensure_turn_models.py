"""Install the turn-taking models (Silero VAD, Smart Turn v3.2), checksummed (bin/test runs this).

Downloads the pinned wheels with `pip download --no-deps` (never installs
them), takes out the ONNX files and their licences, checks every SHA-256
pinned in speech/turn_models.py and stores them in RT_TURN_MODELS_DIR.
Already installed files that pass their checksums are left alone.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from speech import turn_models


class Command(BaseCommand):
    help = "Download and verify the turn-taking models (Silero VAD, Smart Turn v3.2)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="reinstall even if present")
        parser.add_argument("--cache", help="folder to keep the downloaded wheels in")

    def handle(self, *args, force: bool, cache: str | None, **options):
        try:
            paths = turn_models.install(
                force=force,
                cache=Path(cache) if cache else None,
                say=self.stdout.write,
            )
        except turn_models.TurnModelError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Turn-taking models in {paths[0].parent}")
