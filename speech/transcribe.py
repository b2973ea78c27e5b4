"""Whole recordings: transcribe_pcm, the REST voice_to_text upload, and the
model preload at server start.

A recording is decoded with a fresh recogniser from the engine
(settings.RT.speech_engine; speech/interface.py), in the "stt" pool.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Hashable
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile

from interview_rt import pools
from interviews.exceptions import InvalidInput, PayloadTooLarge

from . import audio, engines
from .interface import PLAIN, Recognizer

log = logging.getLogger(__name__)

# Offline transcription feeds the recogniser in pieces of this length, the
# browser's frame size: Vosk's results depend on how audio is split into
# AcceptWaveform calls (see docs/speech.md), so a file and a live stream of
# the same 16 kHz audio decode alike.
OFFLINE_CHUNK_S = 0.1


def transcribe_loaded(
    engine: Recognizer,
    model: Hashable,
    pcm: bytes,
    sample_rate: int,
    chunk_s: float = OFFLINE_CHUNK_S,
) -> dict[str, Any]:
    """A whole recording on `model` (from `engine.load`), blocking: call it in
    the "stt" pool. {"text", "duration_s", "words": [{word, start, end, conf}]}."""
    model_rate = settings.RT.stt_sample_rate
    samples = audio.resample(pcm, sample_rate, model_rate)
    stream = engine.open(model, model_rate, PLAIN)
    step = max(2, int(model_rate * chunk_s) * 2)
    finals = []
    try:
        for offset in range(0, len(samples), step):
            final = stream.feed(samples[offset : offset + step])
            if final is not None:
                finals.append(final)
        finals.append(stream.finish())
    finally:
        stream.close()
    return {
        "text": " ".join(f.text for f in finals if f.text),
        "duration_s": round(len(pcm) / 2 / sample_rate, 3),
        "words": [w.as_dict() for f in finals for w in f.words],
    }


async def transcribe_pcm(
    pcm: bytes, sample_rate: int, language: str, *, chunk_s: float = OFFLINE_CHUNK_S
) -> dict[str, Any]:
    """A whole recording with a fresh recogniser, in the pool:
    {"text", "duration_s", "words": [{word, start, end, conf}]}."""
    rate = audio.check_sample_rate(sample_rate)
    if len(pcm) % 2:
        raise InvalidInput("PCM must be whole 16-bit samples (odd length).", code=audio.BAD_AUDIO)
    engine = engines.current()
    model = await asyncio.to_thread(engine.load, language)
    return await pools.run("stt", transcribe_loaded, engine, model, bytes(pcm), rate, chunk_s)


def transcribe_upload(upload, *, session_uuid=None) -> dict[str, Any]:
    """The REST voice_to_text: validate, decode, transcribe; with a session,
    store the transcript as the student's turn (with the audio as WAV).

    Returns {"text", "duration_s", "words"} (+ "conversation_id" when stored).
    An empty transcript is text "" and stores nothing.
    """
    from interviews import selectors, services

    rt = settings.RT
    session = selectors.session_by_uuid(session_uuid) if session_uuid else None
    size = getattr(upload, "size", None) or 0
    if size > rt.upload_max_bytes:
        raise PayloadTooLarge(
            f"The file is {size} bytes; the limit is {rt.upload_max_bytes} bytes "
            "(RT_UPLOAD_MAX_BYTES)."
        )
    if size == 0:
        raise InvalidInput("The audio file is empty.", code=audio.BAD_AUDIO)

    language = session.language if session is not None else rt.default_language
    engine = engines.current()
    model = engine.load(language)  # 503 before the work if there is none
    rate = rt.stt_sample_rate
    pcm = audio.decode_upload(upload, rate=rate, max_seconds=rt.upload_max_seconds)
    result = pools.executor("stt").submit(transcribe_loaded, engine, model, pcm, rate).result()

    if session is not None and result["text"]:
        words = result["words"]
        conversation = services.add_conversation(
            session=session,
            speaker="student",
            message=result["text"],
            question=selectors.current_question(session),
            audio_file=ContentFile(
                audio.wav_bytes(pcm, rate), name=f"voice-{uuid.uuid4().hex}.wav"
            ),
            speech={
                "start_s": words[0]["start"] if words else 0.0,
                "end_s": words[-1]["end"] if words else result["duration_s"],
                "words": words,
                "ended_by": "upload",
            },
        )
        result["conversation_id"] = conversation.pk
    return result


def preload_default_model() -> threading.Thread | None:
    """Load the default language's model in a background thread (server start),
    so the first candidate's audio does not queue behind a multi-second load,
    then fill the warm pool (RT_STT_WARM_POOL_SIZE; speech/warm.py) in the
    "stt" pool, so the first interviews start on warm recognisers. Neither
    blocks start-up. Resolves the engine (RT_SPEECH_ENGINE) at once, so a bad
    one stops the start."""
    from .stream import refill

    language = settings.RT.default_language
    if not settings.RT.stt_preload:
        return None
    engine = engines.current()
    if not engine.available(language):
        return None

    def load() -> None:
        try:
            model = engine.load(language)
        except Exception:  # reported again, with the fix, when a stream opens
            log.exception("preloading the %r speech model failed", language)
            return
        rate = settings.RT.stt_sample_rate
        refill((engine, model, rate), engine, model, rate, delay_s=0)  # start-up: now

    thread = threading.Thread(target=load, name="stt-preload", daemon=True)
    thread.start()
    return thread
