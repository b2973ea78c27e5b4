"""One live interview: wires speech, turn taking and the AI turn loop.

The candidate's connection owns a LiveSession. Two tasks run per session:

- the *input* task takes audio chunks and control frames (live/frames.py) in
  arrival order, feeds the recogniser, asks the TurnTaker what the result
  means, publishes partials (coalesced) and finals, and commits turns;
- the *AI* task takes committed turns one at a time and runs the interviewer,
  so speech that arrives while a reply streams is kept and becomes the next
  turn.

Audio waiting for the recogniser is bounded (settings.RT.audio_max_queued_frames);
beyond that the client is told `audio_overflow` and the frame is dropped.
All tasks are owned here and cancelled by `close()`.

The database may go away for a while (docs/reliability.md): both tasks wait
for it (live.storage), so a turn is kept, in order, and committed once the
database is back; the client is told `storage_unavailable` once per wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import assert_never

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.files.base import ContentFile

from interviews import events, retraction, selectors, services
from interviews.exceptions import DomainError, ServerBusy
from interviews.models import Conversation, InterviewSession
from interviews.wire import EventType
from speech import audio
from speech.frames import AudioChunk, Final, Partial
from speech.stream import SpeechStream

from . import ai_turns, storage
from .frames import (
    AiSpoken,
    Control,
    EndedBy,
    EndInterview,
    EndTurn,
    HoldTurn,
    Turn,
    TypedAnswer,
)
from .listener import Listener
from .partials import PartialCoalescer
from .recorder import TurnRecorder, wav_file
from .takeback import Answer, Continuation, Outcome, TakeBack, own_part
from .turns import Decision, Flushed, Held

log = logging.getLogger(__name__)

ErrorSink = Callable[[str, str], Awaitable[None]]


class AudioOverflow(DomainError):
    code = "audio_overflow"


@dataclass(frozen=True)
class _Audio:
    chunk: AudioChunk
    received: float


class LiveSession:
    def __init__(self, *, session: InterviewSession, on_error: ErrorSink) -> None:
        rt = settings.RT
        # The row as the socket loaded it: its id and uuid never change, so a
        # final is recorded without reading it again (other fields may be stale).
        self.session = session
        self.session_uuid = session_uuid = session.session_id
        self.language = session.language
        self.on_error = on_error
        self.sample_rate = 16000
        self.max_queued = rt.audio_max_queued_frames
        # The turn rule (RT_TURN_RULE) and the accommodation as the socket loaded them.
        self.turns = Listener(language=self.language, extra_time_s=session.extra_time_s)
        self.recorder = TurnRecorder(keep=rt.save_turn_audio)
        # Take-back (live/takeback.py): the answer resumed speech would reopen,
        # and the one the turn in progress goes on from.
        self.takeback = TakeBack(grace_s=rt.turn_takeback_grace_s)
        self.continuing: Continuation | None = None
        self.partials = PartialCoalescer(rt.partial_interval_s, self._publish_partial)
        # None in either queue: the end of it (close() after interview.end).
        self.inputs: asyncio.Queue[_Audio | Control | None] = asyncio.Queue()
        self.ai_jobs: asyncio.Queue[Callable[[], Awaitable[object]] | None] = asyncio.Queue()
        self.ending = False  # the candidate sent interview.end
        self.queued_audio = 0
        self.stream: SpeechStream | None = None
        self.opening: asyncio.Task | None = None
        self.speech_error: DomainError | None = None
        self.busy_warned = False  # observers were told the candidate waits for a place
        self.turn_count = 0
        self._log = {"session": str(session_uuid)}  # context of every log line
        self.last_final_ms: float | None = None  # audio received -> final, last final of the turn
        self.tasks = [
            asyncio.create_task(self._input_loop(), name=f"input:{session_uuid}"),
            asyncio.create_task(self._ai_loop(), name=f"ai:{session_uuid}"),
        ]

    # --- what the consumer calls -------------------------------------------

    def configure_audio(self, sample_rate: int) -> None:
        """The client will send audio: open the recogniser now, not on the first
        frame. After a `server_busy` refusal this is the client's retry."""
        self.sample_rate = audio.check_sample_rate(sample_rate)
        if isinstance(self.speech_error, ServerBusy):
            self.speech_error = self.opening = None
        self._open_speech()

    def push_audio(self, pcm: bytes) -> None:
        """Queue a binary frame; raises InvalidInput or AudioOverflow."""
        audio.check_frame(pcm)
        if self.queued_audio >= self.max_queued:
            raise AudioOverflow(
                f"The recogniser is {self.queued_audio} frames behind; this frame was dropped. "
                "Send audio in real time."
            )
        self.queued_audio += 1
        self.inputs.put_nowait(_Audio(AudioChunk(pcm, self.sample_rate), time.perf_counter()))

    def end_turn(self) -> None:
        self._control(EndTurn(time.perf_counter()))

    def hold_turn(self) -> None:
        self._control(HoldTurn(time.perf_counter()))

    def answer_text(self, text: str) -> None:
        self._control(TypedAnswer(text, time.perf_counter()))

    def end_interview(self) -> None:
        self.ending = True
        self._control(EndInterview(time.perf_counter()))

    def ai_spoken(self, conversation_id: int) -> None:
        self._control(AiSpoken(conversation_id, time.perf_counter()))

    def _control(self, frame: Control) -> None:
        self.inputs.put_nowait(frame)
        if not isinstance(frame, HoldTurn | AiSpoken) and self.stream is not None:
            self.stream.hurry()  # the last frame's batch should not delay the turn's end

    def start_interview(self) -> None:
        self.ai_jobs.put_nowait(lambda: ai_turns.initialize(self.session_uuid))

    async def close(self) -> None:
        if self.ending:
            # The candidate ended the interview and may close the page at once:
            # what it asked for (the last answer kept, the closing words, the
            # session completed) still happens, then the loops stop.
            self.on_error = self._error_after_leaving
            self.inputs.put_nowait(None)
            await asyncio.gather(*self.tasks, return_exceptions=True)
        tasks = [*self.tasks, *([self.opening] if self.opening else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.partials.reset()
        opened = self.opening
        if self.stream is None and opened and opened.done() and not opened.cancelled():
            self.stream = None if opened.exception() else opened.result()
        if self.stream is not None:
            await self.stream.close()
            self.stream = None

    async def _error_after_leaving(self, code: str, message: str) -> None:
        log.warning("after the candidate left: %s: %s", code, message, extra=self._log)

    # --- input task ---------------------------------------------------------

    async def _input_loop(self) -> None:
        storage.keep_trying(self._storage_waiting)
        while True:
            item = await self.inputs.get()
            if item is None:
                self.ai_jobs.put_nowait(None)
                return
            try:
                if isinstance(item, _Audio):
                    self.queued_audio -= 1
                    await self._on_audio(item)
                else:
                    await self._on_control(item)
            except DomainError as exc:
                await self.on_error(exc.code, exc.message)
            except Exception:
                log.exception("input failed", extra=self._log)
                await self.on_error("internal_error", "Audio processing failed for this frame.")

    async def _on_audio(self, item: _Audio) -> None:
        stream = await self._speech()
        if stream is None:
            return
        chunk = item.chunk
        # The voice check runs in the pool with the decoding (stream opened with
        # measure_voice, or the rule's voice meter): the first frame back is its Voice.
        frames = await stream.accept(chunk)
        self.recorder.add(chunk.pcm, chunk.sample_rate)
        # The rule may flush the recogniser and ask Smart Turn here (in the pool).
        decision = await self.turns.hear(stream, frames)
        await self._show(decision, item.received)
        if self.takeback.target is not None and self.turns.voiced:
            self._reopen(stream.audio_time_s)
        if decision.end_turn:
            await self._commit(EndedBy.SILENCE, item.received)

    async def _show(self, decision: Decision, received: float) -> None:
        for result in decision.show:
            if isinstance(result, Partial):
                await self.partials.offer(result.text, self.stream.audio_time_s)
            else:
                self.partials.reset()
                self.last_final_ms = (time.perf_counter() - received) * 1000
                # A few tries only: the input must not stall on a transcript
                # line, whose words are kept in the turn anyway.
                await storage.retrying(_record_final, self.session, result)

    async def _on_control(self, item: Control) -> None:
        match item:
            case HoldTurn():
                at_s = self.stream.audio_time_s if self.stream else 0.0
                # "Give me a moment" just after silence ended the answer (the
                # rule may end a sentence-final pause in under a second, before
                # anyone can press it): the candidate is not done, so the
                # answer goes on, as resumed speech would reopen it. Later, it
                # is for the next answer (the question may be on screen by then).
                if self.takeback.target is not None and not self.turns.heard:
                    self._reopen(at_s, within_s=settings.RT.turn_hold_reopen_s)
                self.turns.feed(Held(at_s))
            case AiSpoken():
                self.takeback.ai_spoken(item.conversation_id)
            case EndTurn():
                self.takeback.ended()
                await self._commit(EndedBy.TURN_END, item.received)
            case TypedAnswer():
                self.takeback.ended()
                await self._commit(EndedBy.TEXT, item.received, typed=item.text)
            case EndInterview():
                self.takeback.ended()
                await self._commit(EndedBy.INTERVIEW_END, item.received, reply=False)
                self.ai_jobs.put_nowait(
                    lambda: ai_turns.finish(self.session_uuid, "ended by candidate")
                )
            case _:  # a new control frame without its case here fails loudly
                assert_never(item)

    async def _commit(
        self, ended_by: EndedBy, received: float, typed: str = "", reply: bool = True
    ) -> None:
        """Close the current turn and hand it to the AI task (or just record it)."""
        if self.stream is not None:
            # Flush even with no partial words yet: short answers often have none.
            final = await self.stream.finish_utterance()
            await self._show(self.turns.feed(Flushed(final)), received)
        self.partials.reset()
        heard = self.turns.heard
        spoken = self.turns.take(ended_by, self.last_final_ms)
        pcm, sample_rate = self.recorder.take()
        self.last_final_ms = None  # the next turn measures its own
        continuing, self.continuing = self.continuing, None
        turn = _merge(spoken, typed, ended_by, pcm, sample_rate)
        if turn is None:
            if heard:
                log.info("turn dropped", extra={**self._log, "reason": "no voiced speech"})
            return
        self.turn_count += 1
        log.info(
            "turn committed",
            extra={
                **self._log,
                "turn": self.turn_count,
                "ended_by": ended_by,
                "words": len(turn.text.split()),
                "speech_s": round(turn.speech_s, 2),
                "stt_final_ms": None if turn.stt_final_ms is None else round(turn.stt_final_ms),
                "answered": reply,
                **self.turns.decided,  # the rule, the silence it required, its evidence
            },
        )
        name = f"turn-{self.session_uuid.hex[:12]}-{self.turn_count}.wav"
        if reply:
            at_s = self.stream.audio_time_s if self.stream is not None else 0.0
            answer = Answer(turn, committed_at_s=at_s)
            self.takeback.committed(answer)
            self.ai_jobs.put_nowait(lambda: self._respond(answer, continuing, name))
        elif continuing is not None:
            # After the answer it goes on from is settled (the AI task's order).
            self.ai_jobs.put_nowait(lambda: self._keep_unanswered(turn, continuing, name))
        else:
            wav = wav_file(turn.audio_pcm, turn.sample_rate, name)
            await storage.patiently(_record_unanswered, self.session_uuid, turn, wav)

    # --- take-back (live/takeback.py) -----------------------------------------

    def _reopen(self, at_s: float, within_s: float | None = None) -> None:
        """Speech resumed (or `turn.hold` came) in the turn after one silence
        ended: within the grace window, that answer goes on (its words and audio
        in front of this turn's) and its reply is taken back by the AI task, after it."""
        answer = self.takeback.resumed(at_s, within_s)
        if answer is None:
            return
        self.turns.reopen(answer.turn)
        pcm_bytes = self.recorder.prepend(answer.turn.audio_pcm, answer.turn.sample_rate)
        self.continuing = Continuation(answer, len(answer.turn.finals), pcm_bytes)
        if not answer.started:
            answer.outcome = Outcome.SKIPPED  # its reply job will not run
        log.info(
            "answer reopened",
            extra={**self._log, "after_s": round(at_s - answer.committed_at_s, 2)},
        )
        self.ai_jobs.put_nowait(lambda: self._take_back(answer))

    async def _respond(self, answer: Answer, continuing: Continuation | None, name: str) -> None:
        """AI task: the answer (its own part, see takeback.own_part) and one reply."""
        turn, continues, answer.dropped = own_part(answer.turn, continuing)
        answer.student_id = continues
        if turn is None or answer.outcome is Outcome.SKIPPED:
            return  # reopened before its reply started: the next turn answers it whole
        answer.started = True
        result = await ai_turns.respond(
            self.session_uuid,
            turn,
            audio=wav_file(turn.audio_pcm, turn.sample_rate, name),
            continues=continues,
        )
        if result.student_conversation is not None:
            answer.student_id = result.student_conversation.pk
        answer.reply_id = result.conversation.pk if result.conversation else None
        answer.state_before = result.state_before
        answer.used_suggestion = result.used_suggestion
        answer.closed = result.closed
        # Staff may change the accommodation mid-interview: the next answer has it.
        self.turns.set_extra_time(await storage.patiently(_extra_time_s, self.session_uuid))

    async def _take_back(self, answer: Answer) -> None:
        """AI task, after the answer's reply: take the reply back, or say why not."""
        if answer.outcome is Outcome.SKIPPED:
            return  # never replied to: nothing to take back
        if answer.reply_id is None or answer.student_id is None or answer.state_before is None:
            why = "no reply"
        elif answer.closed:
            why = "the reply closed the interview"
        else:
            taken = await ai_turns.reopen(
                self.session_uuid,
                answer_id=answer.student_id,
                reply_id=answer.reply_id,
                state_before=answer.state_before,
                used_suggestion=answer.used_suggestion,
            )
            why = "" if taken else "the session is over or the reply is not the last turn"
        answer.outcome = Outcome.REFUSED if why else Outcome.RETRACTED
        if why:
            log.info("answer not reopened", extra={**self._log, "reason": why})

    async def _keep_unanswered(self, turn: Turn, continuing: Continuation, name: str) -> None:
        """AI task: the answer in progress at `interview.end` went on from another."""
        own, continues, _ = own_part(turn, continuing)
        if own is not None:
            wav = wav_file(own.audio_pcm, own.sample_rate, name)
            await storage.patiently(_record_unanswered, self.session_uuid, own, wav, continues)

    def _open_speech(self) -> asyncio.Task:
        if self.opening is None:
            self.opening = asyncio.create_task(self._opened())
        return self.opening

    async def _opened(self) -> SpeechStream | None:
        """Open the recogniser, admitted by the session (speech/admission.py:
        its place holds across reconnects). An error is reported once, as it
        happens, and typed answers keep working; observers hear of a refusal."""
        try:
            stream = await SpeechStream.open(
                self.language,
                label=str(self.session_uuid),
                measure_voice=True,
                voice_meter=await self.turns.start(),
                session=self.session_uuid,
            )
        except DomainError as exc:
            self.speech_error = exc
            await self.on_error(exc.code, exc.message)
            if isinstance(exc, ServerBusy) and not self.busy_warned:
                self.busy_warned = True  # once per wait, not per retry
                await _warn_observers_busy(self.session)
            return None
        self.busy_warned = False
        return stream

    async def _speech(self) -> SpeechStream | None:
        """The recogniser (opened by audio.config or the first frame), or None
        when it could not be opened."""
        if self.stream is None and self.speech_error is None:
            self.stream = await self._open_speech()
        return self.stream

    async def _publish_partial(self, text: str, audio_s: float) -> None:
        await events.abroadcast(
            events.ephemeral(
                self.session_uuid,
                EventType.TRANSCRIPT_PARTIAL,
                text=text,
                audio_s=round(audio_s, 3),
            )
        )

    # --- AI task -------------------------------------------------------------

    async def _storage_waiting(self, exc: storage.StorageUnavailable) -> None:
        log.warning("turn kept until the database is back", extra=self._log)
        await self.on_error(exc.code, exc.message)

    async def _ai_loop(self) -> None:
        storage.keep_trying(self._storage_waiting)
        while True:
            job = await self.ai_jobs.get()
            if job is None:
                return
            try:
                await job()
            except DomainError as exc:
                await self.on_error(exc.code, exc.message)
            except Exception:
                log.exception("AI turn failed", extra=self._log)
                await self.on_error("internal_error", "The interviewer could not answer this turn.")


def _merge(
    spoken: Turn | None, typed: str, ended_by: EndedBy, pcm: bytes, sample_rate: int
) -> Turn | None:
    """The committed turn: the spoken part (with its audio) and the typed part."""
    typed = typed.strip()
    if spoken is None:
        return Turn(text=typed, ended_by=ended_by) if typed else None
    return Turn(
        text=f"{spoken.text} {typed}" if typed else spoken.text,
        finals=spoken.finals,
        ended_by=ended_by,
        audio_pcm=pcm,
        sample_rate=sample_rate,
        stt_final_ms=spoken.stt_final_ms,
    )


def _record_final(session: InterviewSession, final: Final) -> None:
    services.record_event(
        session=session,
        type_=EventType.TRANSCRIPT_FINAL,
        payload={
            "text": final.text,
            "start_s": round(final.start_s, 3),
            "end_s": round(final.end_s, 3),
            "words": [w.as_dict() for w in final.words],
        },
    )


@database_sync_to_async
def _warn_observers_busy(session: InterviewSession) -> None:
    services.record_event(
        session=session,
        type_=EventType.OBSERVER_WARNING,
        payload={
            "code": ServerBusy.code,
            "message": "The candidate is waiting: the server is busy and cannot transcribe "
            "their voice yet. Their page retries by itself; typed answers work meanwhile.",
        },
    )


def _extra_time_s(session_uuid: uuid.UUID) -> float:
    return selectors.session_by_uuid(session_uuid).extra_time_s


def _record_unanswered(
    session_uuid: uuid.UUID, turn: Turn, wav: ContentFile | None, continues: int | None = None
) -> None:
    """The answer in progress when the candidate ended the interview: kept, not
    answered (`continues`: the row of the reopened answer it is the whole of)."""
    session = selectors.session_by_uuid(session_uuid)
    if continues is not None:
        retraction.continue_answer(
            session=session,
            conversation_id=continues,
            message=turn.text,
            audio_file=wav,
            speech={**turn.speech_facts(), "ended_by": turn.ended_by, "unanswered": True},
        )
        return
    services.add_conversation(
        session=session,
        speaker=Conversation.Speaker.STUDENT,
        message=turn.text,
        question=selectors.current_question(session),
        audio_file=wav,
        speech={**turn.speech_facts(), "ended_by": turn.ended_by, "unanswered": True},
    )
