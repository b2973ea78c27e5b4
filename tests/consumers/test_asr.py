"""/ws/asr/ speaks alphacep/vosk-server's protocol, so its clients work unchanged."""

from __future__ import annotations

import json

import pytest
from channels.testing import WebsocketCommunicator

from interview_rt.asgi import application
from speech.model_registry import registry
from speech.transcribe import transcribe_pcm
from speech.warm import warm
from tests.audio_fixtures import (
    KOREAN_ANSWER,
    SAME_DECODE_AGREEMENT,
    frames,
    silence,
    speak,
    word_agreement,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.speech]


@pytest.fixture(scope="module", autouse=True)
def korean_model():
    registry.model_for("ko")


async def asr(staff_token) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(application, f"/ws/asr/?token={staff_token}")  # no Origin header
    connected, _ = await comm.connect(timeout=5)
    assert connected
    return comm


async def test_one_reply_per_frame_then_the_final_result_and_close(staff_token):
    comm = await asr(staff_token)
    await comm.send_to(text_data=json.dumps({"config": {"sample_rate": 16000.0}}))
    assert await comm.receive_nothing(timeout=0.3)  # nothing after the config frame
    pcm = silence(0.3) + speak(KOREAN_ANSWER) + silence(1.0)
    texts, partials = [], 0
    for frame in frames(pcm):
        await comm.send_to(bytes_data=frame)
        reply = json.loads(await comm.receive_from(timeout=10))
        assert set(reply) in ({"partial"}, {"result", "text"}, {"text"}), reply
        if "partial" in reply:
            partials += reply["partial"] != ""
        elif reply["text"]:
            texts.append(reply["text"])
            assert {"conf", "start", "end", "word"} <= set(reply["result"][0])
    await comm.send_to(text_data='{"eof" : 1}')
    final = json.loads(await comm.receive_from(timeout=10))
    assert "text" in final
    if final["text"]:
        texts.append(final["text"])
    closed = await comm.receive_output(timeout=5)
    assert closed["type"] == "websocket.close"
    assert partials > 0
    offline = await transcribe_pcm(pcm, 16000, "ko")
    assert word_agreement(" ".join(texts), offline["text"]) >= SAME_DECODE_AGREEMENT


async def test_bad_frames_get_an_error_reply(staff_token):
    comm = await asr(staff_token)
    await comm.send_to(text_data="not json")
    assert "error" in json.loads(await comm.receive_from(timeout=5))
    await comm.send_to(text_data=json.dumps({"config": {"sample_rate": 1000}}))
    reply = json.loads(await comm.receive_from(timeout=5))
    assert "error" in reply and "sample_rate" in reply["error"]
    await comm.send_to(bytes_data=b"\x00\x01\x02")
    assert "error" in json.loads(await comm.receive_from(timeout=5))
    await comm.disconnect()


async def test_eof_without_audio_gives_an_empty_result(staff_token):
    comm = await asr(staff_token)
    await comm.send_to(text_data='{"eof" : 1}')
    assert json.loads(await comm.receive_from(timeout=5)) == {"text": ""}


async def test_the_recogniser_is_back_in_the_pool_when_the_result_arrives(staff_token):
    """vosk-server clients reconnect per utterance as soon as they have the
    result: the next connection then starts on the same warm recogniser."""
    warm.clear()
    comm = await asr(staff_token)
    await comm.send_to(text_data=json.dumps({"config": {"sample_rate": 16000}}))
    for frame in frames(silence(0.3) + speak(KOREAN_ANSWER)):
        await comm.send_to(bytes_data=frame)
        await comm.receive_from(timeout=10)
    await comm.send_to(text_data='{"eof" : 1}')
    assert "text" in json.loads(await comm.receive_from(timeout=10))
    assert warm.count() == 1
    await comm.wait(timeout=5)
