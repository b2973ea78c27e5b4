"""Every socket checks Origin against ALLOWED_HOSTS: a page of another site
is refused at the handshake on each of them; /ws/asr/ alone also takes a
client that sends no Origin (vosk-server clients send none)."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from interview_rt.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True)]

FOREIGN = [(b"origin", b"https://evil.example")]
OWN = [(b"origin", b"http://testserver")]


def paths(session, staff_token) -> dict[str, str]:
    return {
        "candidate": f"/ws/interview/{session.session_id}/?token={session.join_token}",
        "observer": f"/ws/observe/{session.session_id}/?token={staff_token}",
        "lobby": f"/ws/observe/?token={staff_token}",
        "asr": f"/ws/asr/?token={staff_token}",
    }


async def handshake(path: str, headers) -> bool:
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await comm.connect(timeout=5)
    await comm.disconnect()
    return connected


@pytest.mark.parametrize("socket", ["candidate", "observer", "lobby", "asr"])
async def test_a_foreign_origin_is_refused_on_every_socket(socket, session, staff_token):
    path = paths(session, staff_token)[socket]
    assert await handshake(path, OWN), "the same credentials from the server's own page work"
    assert not await handshake(path, FOREIGN)
    assert not await handshake(path, [(b"origin", b"null")])


@pytest.mark.parametrize("socket", ["candidate", "observer", "lobby"])
async def test_browser_sockets_need_an_origin(socket, session, staff_token):
    assert not await handshake(paths(session, staff_token)[socket], [])


async def test_asr_takes_a_client_without_origin(staff_token, session):
    comm = WebsocketCommunicator(application, f"/ws/asr/?token={staff_token}")
    connected, _ = await comm.connect(timeout=5)
    assert connected
    assert await comm.receive_nothing(timeout=0.3), "not closed: the staff token admits it"
    await comm.disconnect()
