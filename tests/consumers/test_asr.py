"""/ws/asr/ speaks alphacep/vosk-server's protocol, so its clients work unchanged."""

from __future__ import annotations

import json

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from interview_rt.asgi import application
from speech import engines
from speech.interface import StreamOptions
from speech.model_registry import registry
from speech.transcribe import transcribe_pcm
from speech.warm import warm
from tests.audio_fixtures import (
    KOREAN_ANSWER,
    KOREAN_SHORT,
    SAME_DECODE_AGREEMENT,
    frames,
    silence,
    speak,
    word_agreement,
)
from tests.consumers.helpers import cand, connect, next_event

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


async def test_an_asr_socket_takes_no_channel_layer_channel(staff_token, session):
    """/ws/asr/ joins no group, so it gets no channel: with Redis, each would
    be a queue the server polls for nothing, per vosk-server connection."""
    layer = get_channel_layer()
    before = set(layer.channels)
    comm = await asr(staff_token)
    await comm.send_to(text_data=json.dumps({"config": {"sample_rate": 16000}}))
    await comm.send_to(bytes_data=silence(0.1))
    assert set(json.loads(await comm.receive_from(timeout=10))) == {"partial"}
    assert set(layer.channels) == before
    await comm.disconnect()
    # A session socket, which relays and joins groups, still has one (and
    # the process's relay hub its own).
    candidate = await connect(cand(session))
    await next_event(candidate)  # joined: its channel is waiting for messages
    assert set(layer.channels) - before
    await candidate.disconnect()


# --- vosk-server's config keys ---------------------------------------------------------

PHRASES = ["소프트웨어 엔지니어 입니다", "학생 입니다"]
ANSWER = silence(0.3) + speak(KOREAN_ANSWER) + silence(1.0) + speak(KOREAN_SHORT) + silence(0.3)


async def vosk_client(staff_token, config: str, pcm: bytes) -> tuple[list[dict], dict]:
    """What vosk-server's websocket/test*.py clients do: the config text, then
    0.2 s frames, one reply read after each, then eof and its reply."""
    comm = await asr(staff_token)
    await comm.send_to(text_data=config)
    replies = []
    for frame in frames(pcm, ms=200):
        await comm.send_to(bytes_data=frame)
        replies.append(json.loads(await comm.receive_from(timeout=10)))
    await comm.send_to(text_data='{"eof" : 1}')
    last = json.loads(await comm.receive_from(timeout=10))
    assert (await comm.receive_output(timeout=5))["type"] == "websocket.close"
    return replies, last


def offline(pcm: bytes, options: StreamOptions) -> list:
    """The same audio through a fresh recogniser with the same options, fed
    as the socket feeds it (0.2 s pieces): every Final, the last from finish()."""
    engine = engines.current()
    stream = engine.open(engine.load("ko"), 16000, options)
    try:
        finals = [f for f in (stream.feed(c) for c in frames(pcm, ms=200)) if f is not None]
        return [*finals, stream.finish()]
    finally:
        stream.close()


async def test_words_off_and_a_phrase_list_as_test_words_py_sends_them(staff_token):
    kept = warm.count()
    config = """{"config" :
                    { "phrase_list" : ["소프트웨어 엔지니어 입니다", "학생 입니다"],
                      "sample_rate" : 16000,
                      "words" : 0}}"""
    replies, last = await vosk_client(staff_token, config, ANSWER)
    for reply in [*replies, last]:
        assert set(reply) in ({"partial"}, {"text"}), reply  # no per-word `result`
    texts = [r["text"] for r in [*replies, last] if r.get("text")]
    heard = " ".join(texts)
    vocabulary = {word for phrase in PHRASES for word in phrase.split()}
    assert heard and set(heard.split()) <= vocabulary
    reference = offline(ANSWER, StreamOptions(phrase_list=tuple(PHRASES)))
    expected = " ".join(f.text for f in reference if f.text)
    assert word_agreement(heard, expected) >= SAME_DECODE_AGREEMENT, (heard, expected)
    assert warm.count() == kept  # a grammar recogniser is not kept for plain streams


async def test_max_alternatives_as_test_alternatives_py_sends_it(staff_token):
    config = '{"config" : { "max_alternatives" : 20, "sample_rate" : 16000 } }'
    replies, last = await vosk_client(staff_token, config, ANSWER)
    results = [r for r in replies if "partial" not in r] + [last]
    assert set(last) == {"alternatives"}
    assert any(r["partial"] for r in replies if "partial" in r)
    for reply in replies:
        assert set(reply) in ({"partial"}, {"alternatives"}), reply  # partials stay partials
    for result in results:
        alternatives = result["alternatives"]
        assert 1 <= len(alternatives) <= 20
        scores = [a["confidence"] for a in alternatives]
        # Best first, as Vosk orders them: by lattice cost, whose float sums can
        # put near-ties out of order in the confidence it prints (CI saw
        # 254.081238 before 254.081268), never by more than rounding.
        assert all(a >= b - 1e-3 for a, b in zip(scores, scores[1:], strict=False)), scores
        assert scores[0] >= max(scores) - 1e-3
        for alternative in alternatives:
            assert set(alternative) in ({"confidence", "result", "text"}, {"confidence", "text"})
            for word in alternative.get("result", []):
                assert set(word) == {"word", "start", "end"}  # Vosk scores no word here
            assert [w["word"] for w in alternative.get("result", [])] == alternative["text"].split()
    best = " ".join(r["alternatives"][0]["text"] for r in results if r["alternatives"][0]["text"])
    reference = offline(ANSWER, StreamOptions(max_alternatives=20))
    expected = " ".join(f.alternatives[0].text for f in reference if f.alternatives[0].text)
    assert word_agreement(best, expected) >= SAME_DECODE_AGREEMENT, (best, expected)


async def test_options_after_the_first_audio_frame_change_nothing(staff_token):
    """As in vosk-server, the recogniser is made at the first audio frame."""
    comm = await asr(staff_token)
    await comm.send_to(text_data=json.dumps({"config": {"sample_rate": 16000}}))
    chunks = frames(silence(0.3) + speak(KOREAN_SHORT) + silence(1.0))
    await comm.send_to(bytes_data=chunks[0])
    assert json.loads(await comm.receive_from(timeout=10)) == {"partial": ""}
    late = {"config": {"max_alternatives": 5, "words": 0, "phrase_list": PHRASES}}
    await comm.send_to(text_data=json.dumps(late))
    replies = []
    for chunk in chunks[1:]:
        await comm.send_to(bytes_data=chunk)
        replies.append(json.loads(await comm.receive_from(timeout=10)))
    await comm.send_to(text_data='{"eof" : 1}')
    replies.append(json.loads(await comm.receive_from(timeout=10)))
    results = [r for r in replies if r.get("text")]
    assert results and all(set(r) == {"result", "text"} for r in results), replies
    await comm.wait(timeout=5)


@pytest.mark.parametrize(
    ("config", "answer"),
    [
        ({"max_alternatives": 3}, {"alternatives": [{"text": "", "confidence": 1.0}]}),
        ({"words": 0}, {"text": ""}),
        ({"phrase_list": []}, {"text": ""}),
    ],
)
async def test_eof_without_audio_answers_as_an_empty_vosk_result(staff_token, config, answer):
    comm = await asr(staff_token)
    await comm.send_to(text_data=json.dumps({"config": config}))
    await comm.send_to(text_data='{"eof" : 1}')
    assert json.loads(await comm.receive_from(timeout=5)) == answer


@pytest.mark.parametrize(
    "config",
    [
        {"max_alternatives": "many"},
        {"max_alternatives": -1},
        {"phrase_list": "소프트웨어"},
        {"phrase_list": ["학생", 7]},
        {"max_alternatives": 2, "phrase_list": {"a": 1}},
    ],
)
async def test_bad_option_values_get_an_error_and_change_nothing(staff_token, config):
    comm = await asr(staff_token)
    await comm.send_to(text_data=json.dumps({"config": config}))
    reply = json.loads(await comm.receive_from(timeout=5))
    assert reply["code"] == "bad_field" and any(f"`{key}`" in reply["error"] for key in config)
    await comm.send_to(text_data='{"eof" : 1}')
    assert json.loads(await comm.receive_from(timeout=5)) == {"text": ""}
