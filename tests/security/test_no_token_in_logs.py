"""No token in any log line: a real daphne with its access log on and every
logger at DEBUG serves a join page, the candidate's and an observer's socket,
API calls with a staff token (and bad ones); neither token is in its logs."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest
import websockets

from tests.browser.server import LiveServer

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tokens-in-logs")
    live = LiveServer(workdir, workdir)
    # The development settings: the test settings keep the root logger at WARNING.
    live.env.update(
        {
            "DJANGO_SETTINGS_MODULE": "interview_rt.settings.dev",
            "LOG_LEVEL": "DEBUG",
            "DEBUG": "true",
        }
    )
    live.access_log = workdir / "access.log"
    live.daphne_args = ["--access-log", str(live.access_log), "-v", "2"]
    live.prepare()
    live.start()
    yield live
    live.stop()


async def socket_round_trip(url: str, origin: str) -> dict:
    async with websockets.connect(url, origin=origin, open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "ping"}))
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if event["type"] == "pong":
                return event


def test_neither_token_is_in_any_log_line(server):
    staff_token = server.login_token()
    session = server.create_session("Logs", ["Tell me about yourself."])
    join_url = session["join_url"]
    join_token = re.search(r"token=([^&]+)", join_url).group(1)
    sid = session["session_id"]
    ws_base = server.base.replace("http://", "ws://")

    assert httpx.get(join_url).status_code == 200
    assert httpx.get(f"{server.base}/join/{sid}/?token={join_token}x").status_code == 403
    assert server.api("GET", f"/api/sessions/{sid}/").status_code == 200
    assert server.api("GET", f"/api/nowhere/?token={staff_token}").status_code == 404
    bad = httpx.get(f"{server.base}/api/sessions/", headers={"Authorization": "Token 0" * 1})
    assert bad.status_code == 401
    asyncio.run(socket_round_trip(f"{ws_base}/ws/interview/{sid}/?token={join_token}", server.base))
    asyncio.run(socket_round_trip(f"{ws_base}/ws/observe/{sid}/?token={staff_token}", server.base))
    server.stop()

    access = server.access_log.read_text()
    output = server.log_path.read_text(errors="replace")
    # The logs are there (so the test can fail): the access log has the requests,
    # the server's own output its DEBUG lines.
    assert f"/join/{sid}/?token=[redacted]" in access, access[-2000:]
    assert f"/ws/interview/{sid}/" in access
    assert "DEBUG" in output
    for name, token in (("join", join_token), ("staff API", staff_token)):
        assert token not in access, f"the {name} token is in the access log"
        assert token not in output, f"the {name} token is in the server's log"
    server.start()  # for the module fixture's stop
