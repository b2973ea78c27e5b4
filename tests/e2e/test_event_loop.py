"""RT_EVENT_LOOP: the server command runs Twisted's reactor on the loop it
names (uvloop by default), and /ws/asr/ answers the same on either."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets

from interview_rt.settings.runtime import ConfigError, RuntimeSettings
from speech.transcribe import transcribe_pcm
from tests.audio_fixtures import (
    KOREAN_ANSWER,
    SAME_DECODE_AGREEMENT,
    frames,
    silence,
    speak,
    word_agreement,
)
from tests.browser.server import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.speech]


def mapped_libraries(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


async def transcribe_over_asr(server: LiveServer, pcm: bytes) -> str:
    url = f"{server.base.replace('http', 'ws')}/ws/asr/?token={server.login_token()}"
    texts = []
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"config": {"sample_rate": 16000}}))
        for frame in frames(pcm):
            await ws.send(frame)
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if reply.get("text"):
                texts.append(reply["text"])
        await ws.send('{"eof" : 1}')
        final = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if final.get("text"):
            texts.append(final["text"])
    return " ".join(texts)


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_the_server_runs_on_the_event_loop_the_setting_names(tmp_path, loop):
    server = LiveServer(tmp_path, tmp_path)
    server.env["RT_EVENT_LOOP"] = loop
    server.prepare()
    server.start()
    try:
        pcm = silence(0.3) + speak(KOREAN_ANSWER) + silence(1.0)
        heard = asyncio.run(transcribe_over_asr(server, pcm))
        offline = asyncio.run(transcribe_pcm(pcm, 16000, "ko"))["text"]
        assert word_agreement(heard, offline) >= SAME_DECODE_AGREEMENT, (heard, offline)
        # uvloop's extension is in the serving process only when it was chosen.
        uses_uvloop = "/uvloop/loop." in mapped_libraries(server.proc.pid)
        assert uses_uvloop is (loop == "uvloop")
    finally:
        server.stop()


def test_an_unknown_event_loop_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="event_loop: 'trio' is not one of uvloop, asyncio"):
        RuntimeSettings.from_env({"RT_EVENT_LOOP": "trio"})
