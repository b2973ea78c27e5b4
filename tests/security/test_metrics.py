"""/metrics: who may read it, and that its series move after the events."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import AsyncClient, Client, override_settings
from rest_framework.test import APIClient

from interviews import services
from interviews.exceptions import ServerBusy
from live import ai_turns
from live.frames import Turn
from speech.admission import Admission, Place
from tests.consumers.helpers import cand, connect
from tests.fakes.openai_server import Fault, Reply

pytestmark = [pytest.mark.django_db(transaction=True)]
pytest_plugins = ["tests.fakes.fixtures"]


def scrape(client=None) -> str:
    client = client or Client()
    r = client.get("/metrics")
    assert r.status_code == 200, r.status_code
    assert r["Content-Type"].startswith("text/plain")
    return r.content.decode()


def value(text: str, name: str, **labels: str) -> float:
    """One sample's value in Prometheus' text format (0 when absent)."""
    label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(label_text) + r"\}" if labels else "")
    match = re.search(rf"^{pattern} ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def staff_api(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_strangers_and_non_staff_are_refused(plain_token):
    assert Client().get("/metrics").status_code == 401
    assert staff_api("not-a-token").get("/metrics").status_code == 401
    assert staff_api(plain_token).get("/metrics").status_code == 403


def test_staff_read_it_by_token_or_session(staff_token, staff_user):
    text = scrape(staff_api(staff_token))
    assert "# TYPE rt_server_busy_total counter" in text
    assert "rt_speech_streams_limit" in text
    assert "rt_speech_recognisers_warm" in text and "rt_speech_recognisers_recycled_total" in text
    assert "rt_speech_process_cost" in text and "rt_speech_decode_cost" in text
    browser = Client()
    browser.force_login(staff_user)
    assert "rt_sessions" in scrape(browser)


def test_a_setting_opens_it_to_an_address_or_to_anyone():
    with override_settings(RT=replace(settings.RT, metrics_allowed_ips="10.1.1.1")):
        assert Client(REMOTE_ADDR="10.1.1.1").get("/metrics").status_code == 200
        assert Client(REMOTE_ADDR="10.1.1.2").get("/metrics").status_code == 401
    with override_settings(RT=replace(settings.RT, metrics_public=True)):
        assert Client().get("/metrics").status_code == 200


def test_sessions_are_counted_by_status(staff_token, session):
    assert value(scrape(staff_api(staff_token)), "rt_sessions", status="scheduled") >= 1


async def test_a_server_busy_refusal_is_counted(staff_token, settings, interviewer, student):
    """One interview admitted under a bound of one, the next refused: counted once."""
    settings.RT = replace(settings.RT, stt_max_streams=1)
    client = staff_api(staff_token)
    get = sync_to_async(scrape)
    before = value(await get(client), "rt_server_busy_total")
    create = database_sync_to_async(services.create_session)
    first, second = [
        await create(interviewer=interviewer, student=student, title=f"S{i}") for i in range(2)
    ]
    admission = Admission(redis_url="")
    await admission.enter(Place.for_session(first.session_id))
    with pytest.raises(ServerBusy):
        await admission.enter(Place.for_session(second.session_id))
    text = await get(client)
    assert value(text, "rt_server_busy_total") == before + 1
    assert value(text, "rt_speech_streams_limit") == 1


async def test_a_socket_connect_is_counted_by_role(staff_token, session):
    client = staff_api(staff_token)
    get = sync_to_async(scrape)
    before = value(await get(client), "rt_socket_connections_total", role="candidate")
    open_before = value(await get(client), "rt_sockets_open", role="candidate")
    comm = await connect(cand(session))
    text = await get(client)
    assert value(text, "rt_socket_connections_total", role="candidate") == before + 1
    assert value(text, "rt_sockets_open", role="candidate") == open_before + 1
    await comm.disconnect()
    await comm.wait()
    assert value(await get(client), "rt_sockets_open", role="candidate") == open_before


async def test_an_llm_fallback_and_its_errors_are_counted(fake_llm, planned_session, staff_token):
    client = staff_api(staff_token)
    get = sync_to_async(scrape)
    text = await get(client)
    fallbacks = value(text, "rt_ai_fallbacks_total", reason="llm_fallback")
    errors = value(text, "rt_llm_errors_total", kind="InternalServerError")
    replies = value(text, "rt_ai_first_token_seconds_count", source="fallback")
    fake_llm.script(Reply("Hello, welcome. Tell me about yourself."))
    await ai_turns.initialize(planned_session.session_id)
    fake_llm.script(Fault("status", status=500), Fault("status", status=500))
    result = await ai_turns.respond(planned_session.session_id, Turn(text="I build APIs."))
    assert result.source == "fallback"
    text = await get(client)
    assert value(text, "rt_ai_fallbacks_total", reason="llm_fallback") == fallbacks + 1
    assert value(text, "rt_llm_errors_total", kind="InternalServerError") == errors + 2
    assert value(text, "rt_ai_first_token_seconds_count", source="fallback") == replies + 1
    assert value(text, "rt_ai_first_token_seconds_count", source="llm") >= 1


async def test_event_loop_tasks_follow_the_sockets_open(staff_token, session):
    """Read on the server's own loop (an async view): a socket's tasks show
    while it is open and are gone once it closes, so a leak would show as
    growth (benchmarks/soak.py watches it)."""
    client = AsyncClient()

    async def tasks() -> float:
        r = await client.get("/metrics", headers={"authorization": f"Token {staff_token}"})
        assert r.status_code == 200
        return value(r.content.decode(), "rt_event_loop_tasks")

    async def settled(expected: float) -> float:
        # A socket's last writes (presence, the session's close) end just after it.
        for _ in range(100):  # up to about 5 s
            now = await tasks()
            if now == expected:
                break
            await asyncio.sleep(0.05)
        return now

    empty = await tasks()
    first = await connect(cand(session))
    await first.disconnect()
    await first.wait()
    # The first socket started the process's fan-out hub (two tasks, for good).
    assert await settled(empty + 2) == empty + 2
    for _ in range(3):
        comm = await connect(cand(session))
        assert await tasks() > empty + 2
        await comm.disconnect()
        await comm.wait()
        assert await settled(empty + 2) == empty + 2
