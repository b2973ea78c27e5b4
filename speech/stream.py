"""One live audio stream: PCM in, Voice / Partial / Final out, in stream time.

`SpeechStream` is engine-agnostic: it admits the stream (speech/admission.py,
by the session it serves when it has one), takes a warm recogniser (and has
the warm pool refilled, speech/warm.py) or opens one through the engine's interface
(speech/interface.py; the engine is settings.RT.speech_engine), and does the
rest itself: resampling to the model's rate, voice detection (speech/vad.py),
batching with the other live streams (speech/batches.py), pacing, and stream
time. Every recogniser call runs in the "stt" pool (interview_rt/pools.py),
never on the event loop, and is measured for admission (speech/load.py).
docs/speech.md has the settings and figures.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import uuid
import weakref
from collections.abc import Callable

from django.conf import settings

from interview_rt import pools

from . import audio, batches, engines, memory, vad
from .admission import Place, admission
from .frames import AudioChunk, Final, Partial, Voice
from .interface import PLAIN, RecognizerStream, StreamOptions
from .load import meter
from .warm import warm

# Measures one chunk's voice in the pool, beside the decoding: called with the
# chunk's audio at the model's rate (s16le) and the stream time it ends at;
# returns its voiced seconds. (live/listener.py's Silero VAD, per stream.)
VoiceMeter = Callable[[bytes, float], float]


class SpeechStream:
    """One live audio stream, kept across the turns of an interview session.

    A warm recogniser decodes 2-4x faster than a fresh one (Vosk keeps the
    part of its decoding graph it has expanded; docs/speech.md), so turns
    reuse it (`finish_utterance` ends the utterance, the recogniser stays).
    Calls on one stream run strictly in order; different streams decode in
    parallel in the pool. Times are in stream time: seconds of audio accepted
    since `open()`.
    """

    def __init__(
        self,
        *,
        language: str,
        recognizer: RecognizerStream,
        warm_key: tuple,
        label: str,
        place: Place,
        options: StreamOptions = PLAIN,
        measure_voice: bool = False,
        voice_meter: VoiceMeter | None = None,
    ) -> None:
        self.language = language
        self.place = place
        self.label = label
        self.options = options
        self.measure_voice = measure_voice or voice_meter is not None
        self._voice_meter = voice_meter
        self._pace = batches.Pace()
        self.model_rate = settings.RT.stt_sample_rate
        self._recognizer: RecognizerStream | None = recognizer
        self._warm_key = warm_key
        self._resampler = audio.StreamResampler(self.model_rate)
        self._order = asyncio.Lock()  # FIFO: calls leave in the order they came
        self._mutex = threading.Lock()  # a recogniser is not thread-safe
        self._audio_s = 0.0
        self._last_partial = ""
        self._last_word_end_s: float | None = None
        self._queued = 0
        self._decode_s = 0.0
        self._closed = False
        # A turn ended (hurry): until its final, this stream's calls go first.
        self._ending = False
        self._release = weakref.finalize(self, admission.forget, place)
        # Read once, not per 100 ms frame (the event loop's cost per frame, docs/speech.md).
        self._executor = pools.executor("stt")
        self._threads = pools.size("stt")
        self._batch_window_s = settings.RT.stt_batch_window_s

    @classmethod
    async def open(
        cls,
        language: str,
        *,
        label: str = "",
        measure_voice: bool = False,
        voice_meter: VoiceMeter | None = None,
        options: StreamOptions = PLAIN,
        session: uuid.UUID | None = None,
    ) -> SpeechStream:
        """Admit a stream (ServerBusy when the decoders have no headroom for
        it; a `session` admitted before keeps its place and is never refused),
        load the model if needed (SpeechUnavailable when there is none). With `measure_voice`, every
        accept() result starts with a Voice frame (the voiced seconds in the
        chunk, from speech.vad), measured in the pool with the decoding; a
        `voice_meter` measures it instead (called in the pool with the chunk
        at the model's rate, in the order the chunks came).
        `options` other than the defaults (a grammar, alternatives) get a
        recogniser of their own, not a warm one, closed with the stream."""
        place = Place.for_session(session) if session is not None else Place.for_stream()
        await admission.enter(place)
        rate = settings.RT.stt_sample_rate
        try:
            engine = engines.current()
            model = await asyncio.to_thread(engine.load, language)
            key = (engine, model, rate)
            reusable = options == PLAIN and settings.RT.stt_keep_warm
            recognizer = await warm.take_or_wait(key) if reusable else None
            if recognizer is None:
                recognizer = await pools.run("stt", engine.open, model, rate, options)
            if reusable:
                warm.lend(recognizer)
                refill(key, engine, model, rate)
        except BaseException:
            await admission.stream_closed(place)
            raise
        return cls(
            language=language,
            recognizer=recognizer,
            warm_key=key,
            place=place,
            label=label,
            options=options,
            measure_voice=measure_voice,
            voice_meter=voice_meter,
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

    @property
    def recognizer(self) -> RecognizerStream | None:
        """The engine's stream this one decodes with (None once closed)."""
        return self._recognizer

    # -- audio in -----------------------------------------------------------------

    async def accept(self, chunk: AudioChunk) -> list[Voice | Partial | Final]:
        """Feed one chunk. Returns [Final] when the engine ends an utterance,
        [Partial] when the hypothesis changed, else [] (each led by a Voice
        frame when the stream measures voice). Bad chunks raise InvalidInput;
        after close() it does nothing and returns []."""
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
                    lambda: self._accept_sync(pcm, chunk.sample_rate),
                    urgent=not in_step,
                    first=self._ending,
                )
        finally:
            self._queued -= 1

    async def finish_utterance(self) -> Final | None:
        """End the turn: the final result of what was heard since the last
        Final (None if nothing), and the recogniser ready for the next turn."""
        if self._closed:
            return None
        async with self._order:
            if self._closed:
                return None
            # The candidate is waiting for the end of the turn: no batching.
            asked = time.perf_counter()
            final, flush_s = await self._decode(self._finish_sync, first=True)
            self._ending = False
            meter.finished(time.perf_counter() - asked, flush_s)
            return final

    def hurry(self) -> None:
        """A turn ends: a frame of this stream waiting for its batch goes now,
        and its frames still to come up to the final go ahead of the other
        streams' queued batches (speech/batches.py): the candidate waits on
        them, the others are still speaking."""
        self._ending = True
        batches.for_running_loop().hurry(id(self))

    def _decode(self, call, *, urgent: bool = False, first: bool = False) -> asyncio.Future:
        """Run `call` in the pool, batched with the other live streams' calls
        (`first`: the candidate waits on it, speech/batches.py)."""
        return batches.for_running_loop().run(
            id(self),
            call,
            executor=self._executor,
            threads=self._threads,
            window_s=self._batch_window_s,
            urgent=urgent,
            first=first,
        )

    async def close(self) -> None:
        """Free the recogniser, and the admission place unless a session holds
        it (speech/admission.py); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._release.detach()
        await admission.stream_closed(self.place)
        # A decode may still be running in the pool: retire the recogniser after it.
        flush = self._executor.submit(self._retire_recognizer)
        warm.returning(flush)
        await asyncio.wrap_future(flush)

    # -- in the pool ---------------------------------------------------------------

    def _accept_sync(self, pcm: bytes, rate: int) -> list[Voice | Partial | Final]:
        with self._mutex:
            recognizer = self._recognizer
            if recognizer is None:
                return []
            started, cpu_started = time.perf_counter(), time.thread_time()
            audio_s = len(pcm) / 2 / rate
            self._audio_s += audio_s
            samples = self._resampler.process(pcm, rate)
            if self._voice_meter is not None:
                voice = [Voice(self._voice_meter(samples, self._audio_s))]
            elif self.measure_voice:
                voice = [Voice(vad.voiced_seconds(pcm, rate))]
            else:
                voice = []
            if not samples:
                return voice
            final = recognizer.feed(samples)
            if final is not None:
                events: list[Voice | Partial | Final] = voice
                if self._heard(final):
                    events.append(final)
                elif self._last_partial:
                    events.append(Partial(""))  # the shown hypothesis came to nothing
                self._last_partial = ""
            else:
                events = voice + self._partial(recognizer.partial())
            took = time.perf_counter() - started
            self._decode_s += took
            meter.decoded(audio_s, took, time.thread_time() - cpu_started)
            return events

    def _finish_sync(self) -> tuple[Final | None, float]:
        """The utterance's final (None if nothing worth passing on) and how
        long the recogniser took for it."""
        with self._mutex:
            recognizer = self._recognizer
            if recognizer is None:
                return None, 0.0
            started = time.perf_counter()
            final = recognizer.finish()
            self._last_partial = ""
            took = time.perf_counter() - started
            self._decode_s += took
            return (final if self._heard(final) else None), took

    def _partial(self, partial: Partial) -> list[Partial]:
        if partial.end_s is not None:
            self._note_word_end(partial.end_s)
        if partial.text == self._last_partial:
            return []
        self._last_partial = partial.text
        return [partial]

    def _heard(self, final: Final) -> bool:
        """Note where the Final's words end; whether it is worth passing on
        (it has text, or alternatives that were asked for)."""
        if final.words:
            self._note_word_end(final.words[-1].end)
        return bool(final.text or final.alternatives)

    def _note_word_end(self, end_s: float) -> None:
        if self._last_word_end_s is None or end_s > self._last_word_end_s:
            self._last_word_end_s = end_s

    def _retire_recognizer(self) -> None:
        """Reset the recogniser and keep it warm for the next stream (plain
        ones, when kept warm), or close it; one that has decoded more than
        RT_STT_RECYCLE_AFTER_S is closed and a new one warmed in its place."""
        rt = settings.RT
        recycled = False
        with self._mutex:
            recognizer, self._recognizer = self._recognizer, None
            if recognizer is None:
                return
            if self.options == PLAIN and rt.stt_keep_warm:
                # Only with the pool on: it warms the replacement; without it the
                # next stream would start on a cold recogniser (slower at first).
                recycled = rt.stt_warm_pool_size > 0 and warm.due_for_recycling(recognizer)
                if recycled:
                    warm.recycled(recognizer)
                else:
                    recognizer.reset()
                    # None when kept; else the one left over, to close.
                    recognizer = warm.give(self._warm_key, recognizer, idle_limit())
            if recognizer is not None:
                recognizer.close()
            del recognizer  # a closed one's last reference: its memory is freed here
        # Given back to the system: a closed recogniser's memory, or the
        # utterance's lattices and buffers the reset freed (speech/memory.py).
        memory.release_freed_memory()
        if recycled:
            refill(self._warm_key, *self._warm_key)

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{self._audio_s:.1f}s"
        return f"<SpeechStream {self.label or self.language} {state}>"


def idle_limit() -> int:
    """Most idle warm recognisers kept: the warm pool's size; with the pool
    off, closed streams' recognisers are still kept, up to the stream bound."""
    rt = settings.RT
    return rt.stt_warm_pool_size if rt.stt_warm_pool_size > 0 else rt.stt_max_streams


def refill_target() -> int:
    """Idle recognisers the pool is refilled to: its size less those lent to
    open streams, and never more than admission could use (the stream bound
    less the streams open now). Lent ones count: they come back when their
    streams close (a client reconnecting per utterance, in a moment), and a
    pool refilled behind them would have no room for them, so practised ones
    would be closed for new ones warmed at a cost."""
    rt = settings.RT
    return max(
        0,
        min(rt.stt_warm_pool_size - warm.lent(), rt.stt_max_streams - admission.open_streams),
    )


def refill(key: tuple, engine, model, rate: int, *, delay_s: float | None = None) -> None:
    """Top the warm pool up in the background (the "stt" pool), if it is on,
    after `delay_s` (RT_STT_WARM_REFILL_DELAY_S unless given; from a thread
    with no event loop, at once). The refill asks again how many are idle, so
    a recogniser given back meanwhile means none is warmed for nothing."""
    rt = settings.RT
    if rt.stt_warm_pool_size <= 0 or not rt.stt_keep_warm:
        return
    delay_s = rt.stt_warm_refill_delay_s if delay_s is None else delay_s
    start = functools.partial(
        warm.refill, key, engine, model, rate, executor=pools.executor("stt"), size=refill_target
    )
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None or delay_s <= 0:
        start()
    else:
        loop.call_later(delay_s, start)
