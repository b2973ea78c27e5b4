"""Past capacity: the candidate is told server_busy when its audio opens,
observers are warned, a retry (audio.config again) is admitted once a place
frees, and an admitted interview is never refused when it comes back."""

from __future__ import annotations

from dataclasses import replace

import pytest
from channels.db import database_sync_to_async

from interviews import selectors, services
from interviews.models import SessionEvent
from speech.model_registry import registry
from speech.models import SpeechPlace

from .helpers import cand, connect, drain, events_until, obs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.speech]

CONFIG = {"type": "audio.config", "sample_rate": 16000}


@pytest.fixture(autouse=True)
def one_place(settings):
    registry.model_for("ko")  # loaded before the sockets, as the server preloads it
    settings.RT = replace(settings.RT, stt_max_streams=1)


async def admitted(comm) -> bool:
    """audio.config, then: True if no server_busy came back."""
    await comm.send_json_to(CONFIG)
    return not [e for e in await drain(comm, within=1.0) if e.get("code") == "server_busy"]


async def test_past_capacity_busy_then_admitted_when_a_place_frees(
    session, interviewer, student, staff_token
):
    waiting = await database_sync_to_async(services.create_session)(
        interviewer=interviewer, student=student, title="Second"
    )
    first = await connect(cand(session))
    assert await admitted(first)
    assert await SpeechPlace.objects.filter(session_id=session.session_id).aexists()

    observer = await connect(obs(waiting, staff_token))
    await drain(observer)
    second = await connect(cand(waiting))
    await second.send_json_to(CONFIG)
    error = (await events_until(second, "error"))[-1]
    assert error["code"] == "server_busy"
    warning = (await events_until(observer, "observer.warning"))[-1]
    assert warning["code"] == "server_busy" and "waiting" in warning["message"]

    # The interview goes on, typed, while the candidate waits.
    await second.send_json_to({"type": "interview.start"})
    await events_until(second, "ai.message")
    await second.send_json_to({"type": "answer.text", "text": "Typed while I wait."})
    got = await events_until(second, "ai.message")
    assert [e["text"] for e in got if e["type"] == "turn.committed"] == ["Typed while I wait."]

    # Retrying while it is still full: refused again, observers are not told twice.
    assert not await admitted(second)
    ended = await database_sync_to_async(selectors.session_by_uuid)(session.session_id)
    await database_sync_to_async(services.transition_session)(session=ended, action="cancel")
    assert await admitted(second)
    assert await SpeechPlace.objects.filter(session_id=waiting.session_id).aexists()
    warnings = SessionEvent.objects.filter(session=waiting, type="observer.warning")
    assert await warnings.acount() == 1
    for comm in (first, second, observer):
        await comm.disconnect()


async def test_an_admitted_interview_is_never_refused_when_it_reconnects(
    session, interviewer, student
):
    other = await database_sync_to_async(services.create_session)(
        interviewer=interviewer, student=student, title="Second"
    )
    first = await connect(cand(session))
    assert await admitted(first)
    await first.disconnect()  # the candidate's network drops

    newcomer = await connect(cand(other))
    assert not await admitted(newcomer)  # the place is still the first interview's

    back = await connect(cand(session))
    assert await admitted(back)
    await back.disconnect()
    await newcomer.disconnect()
