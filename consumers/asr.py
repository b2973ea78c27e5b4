"""/ws/asr/?token=<staff token>: alphacep/vosk-server's websocket protocol.

Text `{"config": {"sample_rate": 16000, ...}}`, binary PCM frames, text
`{"eof" : 1}`. After every audio frame one reply: `{"partial": "..."}` or,
when an utterance ends, `{"result": [...], "text": "..."}`; after eof the
final result, then the server closes.

The config keys vosk-server's asr_server.py reads are honoured as it does:
`words` (per-word `result` arrays in results, on unless turned off),
`max_alternatives` (results as `{"alternatives": [{"confidence", "result",
"text"}, ...]}`, as Vosk's SetMaxAlternatives makes them; partials stay
`{"partial"}`) and `phrase_list` (a grammar). Like vosk-server, the recogniser
is made at the first audio frame with the config received so far; these keys
arriving later change nothing.
"""

from __future__ import annotations

import json

from channels.exceptions import StopConsumer

from interviews.exceptions import DomainError, ServerBusy
from speech import audio
from speech.frames import Alternative, AudioChunk, Final, Partial
from speech.interface import StreamOptions
from speech.stream import SpeechStream

from . import protocol
from .base import EventSocket
from .observe import staff_refusal

# What Vosk answers with alternatives on when it has decoded nothing.
NOTHING = Alternative("", 1.0)
C_INT_MAX = 2**31 - 1


def result_json(final: Final | None, *, words: bool = True, alternatives: bool = False) -> str:
    """A result as vosk-server sends it (keys in Vosk's order)."""
    if alternatives:
        best = final.alternatives if final is not None and final.alternatives else (NOTHING,)
        return json.dumps(
            {"alternatives": [alternative_dict(a, words) for a in best]}, ensure_ascii=False
        )
    if final is None or not final.text:
        return json.dumps({"text": ""})
    if not words:
        return json.dumps({"text": final.text}, ensure_ascii=False)
    return json.dumps(
        {"result": [w.as_dict() for w in final.words], "text": final.text}, ensure_ascii=False
    )


def alternative_dict(alternative: Alternative, words: bool) -> dict:
    entry: dict = {"confidence": alternative.confidence}
    if words and alternative.words:
        entry["result"] = [w.as_dict() for w in alternative.words]
    entry["text"] = alternative.text
    return entry


def max_alternatives_of(value: object) -> int:
    """vosk-server's int(config["max_alternatives"]); 0 is none. Vosk takes a C int."""
    try:
        count = int(value)
    except (TypeError, ValueError, OverflowError):
        count = -1
    if not 0 <= count <= C_INT_MAX:
        raise protocol.ProtocolError(
            "`max_alternatives` must be a whole number, 0 or more.", code="bad_field"
        )
    return count


def phrase_list_of(value: object) -> tuple[str, ...]:
    """A grammar: a list of phrases (nothing, as in vosk-server, is no grammar)."""
    if not value:
        return ()
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise protocol.ProtocolError("`phrase_list` must be a list of strings.", code="bad_field")
    return tuple(value)


class VoskAsrConsumer(EventSocket):
    stream: SpeechStream | None = None
    sample_rate = 16000
    language = ""
    partial = ""
    words = True
    max_alternatives = 0
    phrase_list: tuple[str, ...] = ()
    finished = False  # after eof: the final result is sent and the socket closing
    sent_partial = ""  # the text of the last {"partial"} reply, and that reply encoded
    sent_partial_json = json.dumps({"partial": ""})

    async def __call__(self, scope, receive, send):
        """Channels' consumer loop without its channel: this socket joins no
        group and takes no channel-layer message, so it gets no channel (with
        Redis, each would be a queue polled for nothing), and its client's
        messages are dispatched one by one as they come, with no task or
        wait set up per message (a reply per 100 ms frame makes that the
        event loop's main cost here, docs/speech.md)."""
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def authorise(self):
        return staff_refusal(self.scope.get("user"))

    async def on_joined(self):
        from django.conf import settings

        self.language = settings.RT.default_language

    async def disconnect(self, code):
        if self.stream is not None:
            await self.stream.close()

    async def receive(self, text_data=None, bytes_data=None):
        if self.finished:
            return  # a frame that crossed our close: the recogniser is gone
        try:
            if bytes_data is not None:
                await self.send(text_data=await self.decode_frame(bytes_data))
            else:
                await self.on_text(text_data)
        except ServerBusy as exc:
            await self.send(text_data=json.dumps({"error": exc.message}))
            self.finished = True
            await self.close(code=protocol.CLOSE_TRY_AGAIN_LATER)
        except DomainError as exc:
            await self.send(text_data=json.dumps({"error": exc.message, "code": exc.code}))

    async def on_text(self, text: str | None) -> None:
        data = protocol.load_json(text)
        if isinstance(data, dict) and "config" in data:
            self.configure(data["config"])
        elif isinstance(data, dict) and data.get("eof"):
            final = await self._final()
            self.finished = True
            # Give the recogniser back before answering: clients often
            # reconnect for the next utterance as soon as they have the result.
            if self.stream is not None:
                await self.stream.close()
            await self.send(text_data=self.result(final))
            await self.close()
        else:
            raise protocol.ProtocolError(
                'Expected {"config": ...} or {"eof" : 1}.', code="bad_json"
            )

    def configure(self, config: object) -> None:
        """Take a config frame whole, or nothing of it if a key is bad."""
        if not isinstance(config, dict):
            raise protocol.ProtocolError("`config` must be an object.", code="bad_field")
        rate, language = self.sample_rate, self.language
        words, alternatives, phrases = self.words, self.max_alternatives, self.phrase_list
        if "sample_rate" in config:
            # vosk-server clients often send 16000.0; check_sample_rate takes that too.
            rate = audio.check_sample_rate(config["sample_rate"])
        if isinstance(config.get("language"), str):
            language = config["language"]
        if "words" in config:
            words = bool(config["words"])  # as vosk-server: 0, false, null are off
        if "max_alternatives" in config:
            alternatives = max_alternatives_of(config["max_alternatives"])
        if "phrase_list" in config:
            phrases = phrase_list_of(config["phrase_list"])
        self.sample_rate, self.language = rate, language
        if self.stream is None:  # later, the recogniser is made: as vosk-server, no effect
            self.words, self.max_alternatives, self.phrase_list = words, alternatives, phrases

    def result(self, final: Final | None) -> str:
        return result_json(final, words=self.words, alternatives=self.max_alternatives > 0)

    async def decode_frame(self, pcm: bytes) -> str:
        if self.stream is None:
            audio.check_frame(pcm)  # before a recogniser is made for it (accept checks the rest)
            # Words are always decoded (the warm recogniser is a plain one);
            # `words` off only leaves them out of what is sent, as Vosk does.
            options = StreamOptions(
                max_alternatives=self.max_alternatives, phrase_list=self.phrase_list
            )
            self.stream = await SpeechStream.open(self.language, label="asr", options=options)
        for frame in await self.stream.accept(AudioChunk(pcm, self.sample_rate)):
            if isinstance(frame, Final):
                self.partial = ""
                return self.result(frame)
            if isinstance(frame, Partial):
                self.partial = frame.text
        if self.partial != self.sent_partial:
            # Most frames change nothing: their reply is the last one again.
            self.sent_partial = self.partial
            self.sent_partial_json = json.dumps({"partial": self.partial}, ensure_ascii=False)
        return self.sent_partial_json

    async def _final(self) -> Final | None:
        if self.stream is None:
            return None
        return await self.stream.finish_utterance()
