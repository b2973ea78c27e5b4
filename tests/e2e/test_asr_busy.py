"""/ws/asr/ refusing a stream when the decoders are full, against a real server
process over TCP: the client gets the refusal and the documented close code.

The code was 1013 (RFC 6455's "try again later"), which the in-process
communicator passes but daphne cannot send (autobahn allows a server 1000 or
3000-4999 only): a real client got 1011 and the server logged a traceback."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from consumers import protocol
from tests.audio_fixtures import silence
from tests.browser.server import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.speech]


@pytest.fixture
def server(tmp_path):
    live = LiveServer(tmp_path, tmp_path)
    live.env["RT_STT_MAX_STREAMS"] = "1"  # one stream; the second is refused
    live.prepare()
    live.start()
    yield live
    live.stop()


async def test_a_second_stream_over_the_bound_is_refused_with_4013(server):
    url = f"{server.base.replace('http', 'ws')}/ws/asr/?token={server.login_token()}"
    async with websockets.connect(url) as first:
        await first.send(json.dumps({"config": {"sample_rate": 16000}}))
        await first.send(silence(0.1))
        assert "partial" in json.loads(await asyncio.wait_for(first.recv(), 30))
        async with websockets.connect(url) as second:
            await second.send(json.dumps({"config": {"sample_rate": 16000}}))
            await second.send(silence(0.1))
            refusal = json.loads(await asyncio.wait_for(second.recv(), 30))
            assert "busy" in refusal["error"]
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(second.recv(), 10)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == protocol.CLOSE_TRY_AGAIN_LATER == 4013
        # The first stream goes on.
        await first.send(silence(0.1))
        assert "partial" in json.loads(await asyncio.wait_for(first.recv(), 30))
    assert "Traceback" not in server.log_path.read_text()
