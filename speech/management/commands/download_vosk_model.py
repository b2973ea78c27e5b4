"""Download a Vosk model zip, verify it, and unpack it where the registry looks.

    manage.py download_vosk_model vosk-model-small-en-us-0.15
    manage.py download_vosk_model vosk-model-small-ko-0.22 --sha256 <hex>

The zip is checked against its Content-Length and a checksum: the SHA-256
given with --sha256, else the MD5 and size alphacephei publish in
<base-url>/model-list.json. It is unpacked into a temporary folder beside the
target and renamed into place, so a failed download leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from speech.model_registry import is_model_dir

DEFAULT_BASE_URL = "https://alphacephei.com/vosk/models"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8})*$")
# Vosk names a few models by country, not language.
_NAME_LANGUAGES = {"cn": "zh"}
CHUNK_BYTES = 1 << 16


def language_of(name: str) -> str | None:
    """The language in an alphacephei model name: vosk-model-small-en-us-0.15 -> en."""
    if not name.startswith("vosk-model-"):
        return None
    stem = name.removeprefix("vosk-model-").removeprefix("small-")
    code = stem.split("-")[0].lower()
    code = _NAME_LANGUAGES.get(code, code)
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


class Command(BaseCommand):
    help = (
        "Download a Vosk model (names at https://alphacephei.com/vosk/models), verify its "
        "size and checksum, and unpack it into RT_VOSK_MODELS_DIR as <language>-<name>."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="Model name, e.g. vosk-model-small-en-us-0.15")
        parser.add_argument(
            "--language",
            help="Language the model is for (ISO 639-1, e.g. en); default: read from the name.",
        )
        parser.add_argument(
            "--sha256", help="Expected SHA-256 of the zip (hex); default: the published MD5."
        )
        parser.add_argument(
            "--no-verify",
            action="store_true",
            help="Accept the zip without a checksum when none is given or published.",
        )
        parser.add_argument(
            "--base-url",
            default=DEFAULT_BASE_URL,
            help=f"Where <name>.zip and model-list.json live; default {DEFAULT_BASE_URL}.",
        )
        parser.add_argument("--force", action="store_true", help="Replace an existing copy.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
        parser.add_argument("--timeout", type=float, default=60.0, help="Network timeout (s).")

    def handle(self, *args, **options):
        name: str = options["name"].removesuffix(".zip")
        if not _NAME.match(name):
            raise CommandError(f"{name!r} is not a model name (e.g. vosk-model-small-en-us-0.15).")
        language = (options["language"] or language_of(name) or "").lower()
        if not _LANGUAGE.match(language):
            raise CommandError(f"Cannot tell the language of {name!r}: pass --language (e.g. en).")
        expected_sha256 = (options["sha256"] or "").strip().lower() or None
        if expected_sha256 and not re.fullmatch(r"[0-9a-f]{64}", expected_sha256):
            raise CommandError("--sha256 must be 64 hex digits.")

        base_url = options["base_url"].rstrip("/")
        models_dir = settings.RT.models_dir(settings.BASE_DIR)
        target = models_dir / f"{language}-{name}"
        if target.exists() and not options["force"]:
            raise CommandError(f"{target} already exists; pass --force to replace it.")
        models_dir.mkdir(parents=True, exist_ok=True)

        with httpx.Client(follow_redirects=True, timeout=options["timeout"]) as client:
            listed = None
            if not expected_sha256:
                listed = self._listing_entry(client, base_url, name)
                if listed is None and not options["no_verify"]:
                    raise CommandError(
                        f"Cannot verify {name}: {base_url}/model-list.json does not list it "
                        "(or is unreachable). Pass --sha256 <hex>, or --no-verify to accept "
                        "the download unchecked."
                    )
            with tempfile.TemporaryDirectory(prefix=f".download-{name}-", dir=models_dir) as tmp:
                archive = Path(tmp) / f"{name}.zip"
                digests = self._download(
                    client, f"{base_url}/{name}.zip", archive, not options["no_progress"]
                )
                self._verify(name, archive, digests, expected_sha256, listed)
                root = self._unpack(archive, Path(tmp) / "unpacked")
                self._install(root, target, Path(tmp))

        self.stdout.write(
            self.style.SUCCESS(f"Installed {name} for language '{language}' in {target}")
        )
        self.stdout.write(f"sha256 {digests['sha256']}  {name}.zip")
        self.stdout.write(
            f"Sessions in '{language}' now use it (RT_VOSK_MODEL_PATH, if set, still wins "
            "for the default language)."
        )

    # -- steps --------------------------------------------------------------------

    def _listing_entry(self, client: httpx.Client, base_url: str, name: str) -> dict | None:
        try:
            response = client.get(f"{base_url}/model-list.json")
            response.raise_for_status()
            entries = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            self.stderr.write(f"No checksum listing: {exc}")
            return None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("name") == name:
                return entry
        return None

    def _download(self, client: httpx.Client, url: str, path: Path, progress: bool) -> dict:
        sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
        received = 0
        try:
            with client.stream("GET", url) as response:
                if response.status_code == 404:
                    raise CommandError(
                        f"{url} does not exist (404): check the model name against "
                        "https://alphacephei.com/vosk/models."
                    )
                if response.status_code != 200:
                    raise CommandError(f"{url} answered HTTP {response.status_code}.")
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                with (
                    path.open("wb") as out,
                    tqdm(
                        total=total,
                        unit="B",
                        unit_scale=True,
                        unit_divisor=1024,
                        desc=path.name,
                        disable=not progress,
                        file=sys.stderr,
                    ) as bar,
                ):
                    for piece in response.iter_bytes(CHUNK_BYTES):
                        out.write(piece)
                        sha256.update(piece)
                        md5.update(piece)
                        received += len(piece)
                        bar.update(len(piece))
        except httpx.HTTPError as exc:
            raise CommandError(
                f"Download of {url} failed after {received} bytes: {exc}. Try again."
            ) from exc
        if total is not None and received != total:
            raise CommandError(
                f"Download of {url} is truncated: got {received} of {total} bytes. Try again."
            )
        return {"sha256": sha256.hexdigest(), "md5": md5.hexdigest(), "size": received}

    def _verify(
        self,
        name: str,
        archive: Path,
        digests: dict,
        expected_sha256: str | None,
        listed: dict | None,
    ) -> None:
        if expected_sha256:
            if digests["sha256"] != expected_sha256:
                raise CommandError(
                    f"Checksum mismatch for {name}.zip: SHA-256 is {digests['sha256']}, "
                    f"expected {expected_sha256}. Nothing was installed."
                )
            return
        if listed is None:
            self.stderr.write(self.style.WARNING(f"{name}.zip is not verified (--no-verify)."))
            return
        size = listed.get("size")
        if isinstance(size, int) and size != digests["size"]:
            raise CommandError(
                f"Size mismatch for {name}.zip: {digests['size']} bytes, the listing says "
                f"{size}. Nothing was installed."
            )
        md5 = str(listed.get("md5", "")).lower()
        if not md5:
            raise CommandError(
                f"The listing has no checksum for {name}; pass --sha256 or --no-verify."
            )
        if md5 != digests["md5"]:
            raise CommandError(
                f"Checksum mismatch for {name}.zip: MD5 is {digests['md5']}, the listing says "
                f"{md5}. Nothing was installed."
            )

    def _unpack(self, archive: Path, into: Path) -> Path:
        if not zipfile.is_zipfile(archive):
            raise CommandError(f"{archive.name} is not a zip file.")
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.namelist():
                parts = PurePosixPath(member).parts
                if member.startswith("/") or ".." in parts:
                    raise CommandError(f"{archive.name} holds an unsafe path: {member!r}.")
            try:
                bundle.extractall(into)
            except (zipfile.BadZipFile, OSError) as exc:
                raise CommandError(f"Cannot unpack {archive.name}: {exc}") from exc
        entries = [p for p in into.iterdir() if not p.name.startswith("__MACOSX")]
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else into
        if not is_model_dir(root):
            raise CommandError(
                f"{archive.name} does not hold a Vosk model (no am/final.mdl or final.mdl)."
            )
        return root

    def _install(self, root: Path, target: Path, scratch: Path) -> None:
        # Same file system (the scratch folder is inside the models folder), so
        # each rename is atomic: readers see the old model or the new one.
        previous = None
        if target.exists():
            previous = scratch / "previous"
            os.replace(target, previous)
        try:
            os.replace(root, target)
        except OSError:
            if previous is not None:
                os.replace(previous, target)
            raise
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)
