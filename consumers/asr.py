"""/ws/asr/?token=<staff token>: alphacep/vosk-server's websocket protocol.

Text `{"config": {"sample_rate": 16000, ...}}`, binary PCM frames, text
`{"eof" : 1}`. After every audio frame one reply: `{"partial": "..."}` or,
when an utterance ends, `{"result": [...], "text": "..."}`; after eof the
final result, then the server closes.
"""

from __future__ import annotations

import json

from interviews.exceptions import DomainError, ServerBusy
from speech import audio
from speech.frames import AudioChunk, Final, Partial
from speech.stream import SpeechStream

from . import protocol
from .base import EventSocket
from .observe import staff_refusal


def result_json(final: Final | None) -> str:
    if final is None or not final.text:
        return json.dumps({"text": ""})
    words = [w.as_dict() for w in final.words]
    return json.dumps({"result": words, "text": final.text}, ensure_ascii=False)


class VoskAsrConsumer(EventSocket):
    stream: SpeechStream | None = None
    sample_rate = 16000
    language = ""
    partial = ""

    async def authorise(self):
        return staff_refusal(self.scope.get("user"))

    async def on_joined(self):
        from django.conf import settings

        self.language = settings.RT.default_language

    async def disconnect(self, code):
        if self.stream is not None:
            await self.stream.close()

    async def receive(self, text_data=None, bytes_data=None):
        try:
            if bytes_data is not None:
                await self.send(text_data=await self.decode_frame(bytes_data))
            else:
                await self.on_text(text_data)
        except ServerBusy as exc:
            await self.send(text_data=json.dumps({"error": exc.message}))
            await self.close(code=protocol.CLOSE_TRY_AGAIN_LATER)
        except DomainError as exc:
            await self.send(text_data=json.dumps({"error": exc.message, "code": exc.code}))

    async def on_text(self, text: str | None) -> None:
        try:
            data = json.loads(text or "")
        except json.JSONDecodeError as exc:
            raise protocol.ProtocolError("Expected a JSON text frame.", code="bad_json") from exc
        if isinstance(data, dict) and "config" in data:
            self.configure(data["config"])
        elif isinstance(data, dict) and data.get("eof"):
            final = await self._final()
            # Give the recogniser back before answering: clients often
            # reconnect for the next utterance as soon as they have the result.
            if self.stream is not None:
                await self.stream.close()
            await self.send(text_data=result_json(final))
            await self.close()
        else:
            raise protocol.ProtocolError(
                'Expected {"config": ...} or {"eof" : 1}.', code="bad_json"
            )

    def configure(self, config: object) -> None:
        if not isinstance(config, dict):
            raise protocol.ProtocolError("`config` must be an object.", code="bad_field")
        if "sample_rate" in config:
            # vosk-server clients often send 16000.0; check_sample_rate takes that too.
            self.sample_rate = audio.check_sample_rate(config["sample_rate"])
        if isinstance(config.get("language"), str):
            self.language = config["language"]

    async def decode_frame(self, pcm: bytes) -> str:
        audio.check_frame(pcm)
        if self.stream is None:
            self.stream = await SpeechStream.open(self.language, label="asr")
        for frame in await self.stream.accept(AudioChunk(pcm, self.sample_rate)):
            if isinstance(frame, Final):
                self.partial = ""
                return result_json(frame)
            if isinstance(frame, Partial):
                self.partial = frame.text
        return json.dumps({"partial": self.partial}, ensure_ascii=False)

    async def _final(self) -> Final | None:
        if self.stream is None:
            return None
        return await self.stream.finish_utterance()
