"""Admission by measured headroom: who gets a place, who is told server_busy.

The decoders' load is set through a LoadMeter fed with samples of a set cost
(a stand-in decoder); one test checks that the real decode path feeds it.
"""

from __future__ import annotations

import logging
import socket
import uuid
from dataclasses import replace

import pytest
import redis
from channels.db import database_sync_to_async

from interviews import selectors, services
from interviews.exceptions import ServerBusy
from speech.admission import Admission, Place
from speech.frames import AudioChunk
from speech.load import LoadMeter
from speech.models import SpeechPlace
from speech.shared import SharedPlaces
from speech.stream import SpeechStream
from tests.audio_fixtures import silence
from tests.conftest import require_service

pytestmark = pytest.mark.django_db(transaction=True)

CHEAP = 0.05  # decoder seconds per audio second: a warm recogniser on a quiet machine
DEAR = 0.6  # a cold recogniser on a busy one
LOCAL_REDIS = "redis://127.0.0.1:6379/15"


class ProcessClock:
    """The process's CPU seconds so far, as time.process_time would read them."""

    def __init__(self) -> None:
        self.cpu_s = 0.0

    def __call__(self) -> float:
        return self.cpu_s


def meter_at(
    cost: float,
    *,
    final_wait_s: float = 0.0,
    finals: int = 0,
    process_cost: float | None = None,
) -> LoadMeter:
    """A meter that has measured 20 s of speech decoded at `cost`; with
    `process_cost`, the whole process spent that much CPU per audio second."""
    clock = ProcessClock()
    meter = LoadMeter(process_cpu=clock if process_cost is not None else None)
    for _ in range(20):
        clock.cpu_s += process_cost or 0.0
        meter.decoded(1.0, cost, cost)
    for _ in range(finals):
        meter.finished(final_wait_s, 0.05)
    return meter


@pytest.fixture
def bound(settings):
    def set_bound(streams: int, **more):
        settings.RT = replace(settings.RT, stt_max_streams=streams, **more)

    set_bound(6)
    return set_bound


@pytest.fixture
def make_sessions(interviewer, student):
    async def make(n: int) -> list[uuid.UUID]:
        create = database_sync_to_async(services.create_session)
        return [
            (await create(interviewer=interviewer, student=student, title=f"S{i}")).session_id
            for i in range(n)
        ]

    return make


async def admitted(admission: Admission, sessions: list[uuid.UUID]) -> list[uuid.UUID]:
    """The sessions `admission` admits, in order; the rest are refused."""
    taken = []
    for session in sessions:
        try:
            await admission.enter(Place.for_session(session))
        except ServerBusy as exc:
            assert exc.code == "server_busy" and exc.http_status == 503
            continue
        taken.append(session)
    return taken


async def test_cheap_decoding_admits_up_to_the_bound_and_refuses_the_next(bound, make_sessions):
    sessions = await make_sessions(8)
    admission = Admission(redis_url="", load_meter=meter_at(CHEAP))
    assert await admitted(admission, sessions) == sessions[:6]
    assert await SpeechPlace.objects.acount() == 6


async def test_dear_decoding_admits_fewer_than_the_bound(bound, make_sessions):
    """Every admitted interview counts as one speaking: with each costing 0.6 s
    of decoding per second on two threads, a third would push finals past 500 ms."""
    sessions = await make_sessions(6)
    admission = Admission(redis_url="", load_meter=meter_at(DEAR))
    taken = await admitted(admission, sessions)
    assert taken == sessions[:2]
    assert admission.load().predicted_final_s(3) > 0.5 >= admission.load().predicted_final_s(2)


async def test_work_besides_the_decoders_counts_against_the_headroom(bound, make_sessions):
    """Cheap decoders, but the process spends 0.2 CPU s per audio second in all
    (the event loop, turn models, replies): on two cores the eighth interview
    would push finals past 500 ms, so seven get in below a bound of 16."""
    bound(16)
    sessions = await make_sessions(9)
    decoders_alone = Admission(redis_url="", load_meter=meter_at(CHEAP, process_cost=CHEAP))
    assert decoders_alone.load().process_cost == pytest.approx(CHEAP)
    assert decoders_alone.capacity() == 16
    whole_process = Admission(redis_url="", load_meter=meter_at(CHEAP, process_cost=0.2))
    load = whole_process.load()
    assert load.cost == pytest.approx(CHEAP) and load.process_cost == pytest.approx(0.2)
    assert await admitted(whole_process, sessions) == sessions[:7]
    assert load.predicted_final_s(8) > 0.5 >= load.predicted_final_s(7)


async def test_the_global_meter_reads_the_process_cpu_between_decodes():
    """The product's meter reads time.process_time at each decode: CPU the
    process spends between two decodes is charged to the audio decoded."""
    import time as clock

    from speech import load

    meter = LoadMeter(process_cpu=load.meter.process_cpu)
    assert load.meter.process_cpu is clock.process_time
    for _ in range(10):
        meter.decoded(1.0, 0.01, 0.01)
        busy_until = clock.process_time() + 0.05
        while clock.process_time() < busy_until:  # 50 ms of this process's CPU
            pass
    reading = meter.reading(threads=2)
    assert reading.measured and reading.cost == pytest.approx(0.01)
    assert 0.04 <= reading.process_cost <= 0.2


async def test_decoders_that_fall_behind_admit_no_one_more(bound, make_sessions):
    sessions = await make_sessions(3)
    meter = meter_at(CHEAP)
    admission = Admission(redis_url="", load_meter=meter)
    assert await admitted(admission, sessions[:2]) == sessions[:2]
    for _ in range(5):  # finals now wait 0.9 s: the live ones are not kept up with
        meter.finished(0.9, 0.05)
    assert await admitted(admission, sessions[2:]) == []


async def test_a_target_of_zero_turns_measurement_off_and_keeps_the_bound(bound, make_sessions):
    """RT_STT_LATENCY_TARGET_MS=0: dear, lagging decoders still admit up to the bound."""
    bound(3, stt_latency_target_ms=0)
    sessions = await make_sessions(4)
    meter = meter_at(DEAR, final_wait_s=2.0, finals=10)
    admission = Admission(redis_url="", load_meter=meter)
    assert await admitted(admission, sessions) == sessions[:3]


async def test_a_bound_of_zero_admits_nothing(bound, make_sessions):
    bound(0)
    admission = Admission(redis_url="", load_meter=meter_at(CHEAP))
    assert await admitted(admission, await make_sessions(1)) == []


async def test_an_admitted_session_keeps_its_place_across_reconnects_and_overload(
    bound, make_sessions
):
    bound(2)
    first, second, third = await make_sessions(3)
    meter = meter_at(CHEAP)
    admission = Admission(redis_url="", load_meter=meter)
    assert await admitted(admission, [first, second, third]) == [first, second]
    place = Place.for_session(first)
    await admission.stream_closed(place)  # the candidate's socket dropped
    assert await admitted(admission, [third]) == []  # the place is still first's
    for _ in range(5):  # and the decoders are now overloaded
        meter.finished(2.0, 0.05)
    assert await admission.enter(place) is True  # a reconnect: kept, never refused


async def test_places_outlive_a_restart(bound, make_sessions):
    bound(2)
    first, second, third = await make_sessions(3)
    before = Admission(redis_url="", load_meter=meter_at(CHEAP))
    assert await admitted(before, [first, second]) == [first, second]

    after = Admission(redis_url="", load_meter=meter_at(CHEAP))  # a new process
    assert await admitted(after, [third]) == []  # the two places are remembered
    assert await admitted(after, [second]) == [second]  # and given back to their sessions


async def test_a_place_is_released_when_its_session_ends(bound, make_sessions):
    bound(1)
    first, second = await make_sessions(2)
    admission = Admission(redis_url="", load_meter=meter_at(CHEAP))
    assert await admitted(admission, [first, second]) == [first]

    ended = await database_sync_to_async(selectors.session_by_uuid)(first)
    await database_sync_to_async(services.transition_session)(session=ended, action="cancel")
    assert not await SpeechPlace.objects.filter(session_id=first).aexists()
    assert await admitted(admission, [second]) == [second]


async def test_a_place_is_released_after_the_idle_timeout(bound, make_sessions):
    bound(1, stt_admission_idle_s=0.2)
    first, second = await make_sessions(2)
    admission = Admission(redis_url="", load_meter=meter_at(CHEAP))
    assert await admitted(admission, [first, second]) == [first]
    await admission.stream_closed(Place.for_session(first))
    await database_sync_to_async(
        lambda: SpeechPlace.objects.filter(session_id=first).update(
            active_at=SpeechPlace.objects.get(session_id=first).active_at.replace(year=2000)
        )
    )()
    await admission.beat()
    assert await admitted(admission, [second]) == [second]


async def test_the_decode_path_measures_the_decoders(settings):
    """A stream's decoding is what the meter reads: audio seconds against the
    seconds the recogniser took (here a stand-in that takes 0.2 s per second)."""
    from speech import load

    settings.RT = replace(settings.RT, speech_engine=f"{__name__}.SetCostEngine")
    stream = await SpeechStream.open("zz")
    for _ in range(60):
        await stream.accept(AudioChunk(silence(0.1), 16000))
    await stream.finish_utterance()
    await stream.close()
    reading = load.meter.reading(threads=2)
    assert reading.measured and reading.finals == 1
    assert 0.19 <= reading.cost <= 0.4
    assert reading.cpu_cost < 0.1  # it slept: wall seconds, not CPU


class SetCostStream:
    """A stand-in recogniser that takes COST seconds per second of audio."""

    COST = 0.2

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.decoded_s = 0.0

    def feed(self, pcm: bytes):
        import time

        self.decoded_s += len(pcm) / 2 / self.rate
        time.sleep(len(pcm) / 2 / self.rate * self.COST)

    def partial(self):
        from speech.frames import Partial

        return Partial("")

    def finish(self):
        from speech.frames import Final

        return Final("", 0.0, 0.0)

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


class SetCostEngine:
    def available(self, language: str) -> bool:
        return True

    def load(self, language: str) -> str:
        return "set-cost"

    def open(self, model, sample_rate, options) -> SetCostStream:
        return SetCostStream(sample_rate)


# --- Redis ---------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_with_redis_unreachable_each_process_keeps_to_its_own_bound(
    bound, make_sessions, caplog
):
    bound(2)
    sessions = await make_sessions(5)
    down = f"redis://127.0.0.1:{closed_port()}/15"
    one = Admission(redis_url=down, load_meter=meter_at(CHEAP))
    other = Admission(redis_url=down, load_meter=meter_at(CHEAP))
    with caplog.at_level(logging.WARNING, logger="speech.admission"):
        assert await admitted(one, sessions[:3]) == sessions[:2]
        assert await admitted(other, sessions[2:]) == sessions[2:4]
    warnings = [
        r for r in caplog.records if r.name == "speech.admission" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 2  # once per process, not per admission
    assert "Redis is unreachable" in warnings[0].getMessage()


@pytest.fixture
def shared_redis():
    """A prefix of its own in the local Redis (db 15), removed afterwards."""
    try:
        redis.Redis.from_url(LOCAL_REDIS, socket_connect_timeout=1).ping()
        reachable = True
    except redis.RedisError:
        reachable = False
    require_service(reachable, f"Redis at {LOCAL_REDIS} is needed for shared admission")
    prefix = f"rt-test-{uuid.uuid4().hex[:8]}:"
    yield prefix
    client = redis.Redis.from_url(LOCAL_REDIS)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


async def test_processes_share_one_bound_through_redis(bound, make_sessions, shared_redis):
    bound(3)
    sessions = await make_sessions(6)
    one = Admission(redis_url=LOCAL_REDIS, prefix=shared_redis, load_meter=meter_at(CHEAP))
    other = Admission(redis_url=LOCAL_REDIS, prefix=shared_redis, load_meter=meter_at(CHEAP))
    assert await admitted(one, sessions[:2]) == sessions[:2]
    assert await admitted(other, sessions[2:4]) == sessions[2:3]  # 3 in all, not 3 each
    assert await admitted(one, sessions[4:]) == []

    shared = SharedPlaces(LOCAL_REDIS, shared_redis, "reader")
    reports = await shared.reports()
    assert {r["process"] for r in reports.values()} == {one.process, other.process}
    assert all(r["capacity"] == 3 for r in reports.values())
    assert len(await shared.keys()) == 3

    # A candidate of `one` reconnects to `other`: its place follows, never refused.
    assert await other.enter(Place.for_session(sessions[0])) is True
    await shared.close()


async def test_a_process_with_no_headroom_refuses_though_the_deployment_has_room(
    bound, make_sessions, shared_redis
):
    bound(6)
    sessions = await make_sessions(4)
    roomy = Admission(redis_url=LOCAL_REDIS, prefix=shared_redis, load_meter=meter_at(CHEAP))
    tight = Admission(redis_url=LOCAL_REDIS, prefix=shared_redis, load_meter=meter_at(DEAR))
    assert await admitted(tight, sessions[:3]) == sessions[:2]
    assert await admitted(roomy, sessions[2:]) == sessions[2:]


async def test_a_shared_place_of_an_ended_session_is_given_up(bound, make_sessions, shared_redis):
    bound(1)
    first, second = await make_sessions(2)
    one = Admission(redis_url=LOCAL_REDIS, prefix=shared_redis, load_meter=meter_at(CHEAP))
    assert await admitted(one, [first, second]) == [first]
    # The session is deleted while its place is in Redis (no receiver told Redis).
    await SpeechPlace.objects.filter(session_id=first).adelete()
    assert await admitted(one, [second]) == [second]
