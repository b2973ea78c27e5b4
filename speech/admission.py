"""Admission: which interviews' audio the decoders take, by measured headroom.

An interview's audio is admitted when its stream first opens, if the
decoders can take one more speaking stream and keep every live one's wait
for its final within settings.RT.stt_latency_target_ms (speech/load.py
measures and predicts it). Every admitted interview counts as speaking: a
candidate listening to the AI decodes nothing now but will speak. The next
one is refused with ServerBusy (`server_busy`); settings.RT.stt_max_streams
bounds it all.

An admitted interview holds a *place*, keyed by its session, across its
turns, reconnects and a server restart, and is never refused in the middle:
the place is a database row (speech.models.SpeechPlace), released when the
session ends (speech/receivers.py) or after stt_admission_idle_s with no
stream open for it. A stream with no session (/ws/asr/) holds a place for
as long as it is open.

Where the count is kept:

- no Redis (one process, the in-memory channel layer): the database's
  places and this process's session-less streams;
- with Redis (settings.REDIS_URL): every process shares one count in Redis
  (speech/shared.py), so N processes do not admit N times the bound, and
  each reports its own headroom there;
- Redis configured but unreachable: each process falls back to its own
  places against its own bound (a WARNING, once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from datetime import timedelta

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from interview_rt import metrics, pools
from interviews.exceptions import ServerBusy

from .load import Load, LoadMeter, meter
from .models import SpeechPlace
from .shared import SharedPlaces, SharedUnavailable

log = logging.getLogger(__name__)

# How often places with an open stream are marked active, and each process
# reports its headroom (well under stt_admission_idle_s).
HEARTBEAT_S = 10.0
# After Redis failed, how long the process keeps to its own count before trying again.
REDIS_RETRY_S = 30.0


@dataclass(frozen=True)
class Place:
    """What is admitted: an interview session (kept across streams) or one stream."""

    key: str
    session: uuid.UUID | None = None

    @classmethod
    def for_session(cls, session_uuid: uuid.UUID | str) -> Place:
        session = session_uuid if isinstance(session_uuid, uuid.UUID) else uuid.UUID(session_uuid)
        return cls(f"session:{session.hex}", session)

    @classmethod
    def for_stream(cls) -> Place:
        return cls(f"stream:{uuid.uuid4().hex}")


def own_capacity(load: Load, *, held: int, target_s: float, limit: int) -> int:
    """How many places this process may hold now, by its measurements.

    Its predicted capacity at the latency target, at most `limit`; while the
    measured wait for finals is already past the target (the decoders are not
    keeping up), no more than it holds. A process holding nothing always
    takes one (a reading from before can be stale), unless `limit` is 0.
    A target of 0 turns measurement off: `limit` places."""
    if limit <= 0:
        return 0
    if target_s <= 0:
        return limit  # headroom admission off: the fixed bound alone
    capacity = held if load.falling_behind(target_s) else load.capacity(target_s, limit)
    return max(1, min(capacity, limit))


class Admission:
    """This process's side of admission (one per process: `admission` below;
    tests make more, each standing for a process)."""

    def __init__(
        self,
        *,
        redis_url: str | None = None,
        prefix: str = "rt:admission:",
        load_meter: LoadMeter = meter,
    ) -> None:
        self._redis_url = redis_url
        self.prefix = prefix
        self.meter = load_meter
        self.process = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._lock = threading.Lock()
        self._streams: dict[str, int] = {}  # place key -> streams open for it here
        self._places: dict[str, Place] = {}  # places this process admitted or re-admitted
        self._forgotten: set[str] = set()  # released by a finaliser, not yet in Redis
        # The database's fresh session places at the last look (they include
        # sessions admitted before a restart whose candidates are away).
        self._db_places: set[str] = set()
        self._shared: weakref.WeakKeyDictionary = (
            weakref.WeakKeyDictionary()
        )  # loop -> SharedPlaces
        self._locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop -> asyncio.Lock
        self._beats: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop -> Task
        self._redis_down_until = 0.0
        self._warned = False

    # --- what streams call ---------------------------------------------------------

    async def enter(self, place: Place) -> bool:
        """Admit a stream of `place`: True if the place was held already (a
        reconnect, a restart), False if newly admitted; ServerBusy if not."""
        rt = settings.RT
        async with self._loop_lock():
            readmit = place.session is not None and await _fresh_in_db(place.session)
            if not readmit:
                self._admit_new(place, await self._count_and_admit(place, rt))
            elif (shared := self._shared_places()) is not None:
                with contextlib.suppress(SharedUnavailable):
                    await shared.admit(place.key, self._report(), capacity=0, limit=0, force=True)
            if place.session is not None:
                await _hold_in_db(place.session, self.process)
            with self._lock:
                self._places[place.key] = place
                self._streams[place.key] = self._streams.get(place.key, 0) + 1
        self._ensure_heartbeat()
        return readmit

    async def stream_closed(self, place: Place) -> None:
        """A stream of `place` closed: a session's place stays (marked active
        now, for the idle timeout); a session-less stream's place goes."""
        if self._drop_stream(place):
            await self.release(place)
        elif place.session is not None:
            await _touch_in_db([place.session])

    def forget(self, place: Place) -> None:
        """A stream collected without close() (a finaliser: no awaiting here)."""
        if self._drop_stream(place) and place.session is None:
            with self._lock:
                self._places.pop(place.key, None)
                self._forgotten.add(place.key)

    async def release(self, place: Place) -> None:
        """Give the place up (the session ended, or a session-less stream closed)."""
        with self._lock:
            self._places.pop(place.key, None)
            self._streams.pop(place.key, None)
            self._db_places.discard(place.key)
        if place.session is not None:
            await database_sync_to_async(_delete_in_db)(place.session)
        shared = self._shared_places()
        if shared is not None:
            with contextlib.suppress(SharedUnavailable):
                await shared.release([place.key])

    def release_session_sync(self, session_uuid: uuid.UUID) -> None:
        """The session ended (sync caller, in its transaction): its place goes.
        The shared count drops it on commit, best effort (else at its idle timeout)."""
        place = Place.for_session(session_uuid)
        with self._lock:
            self._places.pop(place.key, None)
            self._db_places.discard(place.key)
        url = self.redis_url
        if _delete_in_db(session_uuid) and url:
            transaction.on_commit(lambda: SharedPlaces.release_sync(url, self.prefix, place.key))

    # --- readings ------------------------------------------------------------------

    @property
    def redis_url(self) -> str:
        return settings.REDIS_URL if self._redis_url is None else self._redis_url

    @property
    def open_streams(self) -> int:
        with self._lock:
            return sum(self._streams.values())

    def load(self) -> Load:
        rt = settings.RT
        return self.meter.reading(pools.size("stt"), rt.stt_load_window_s)

    def held(self) -> int:
        """Places this process holds (admitted here and not released)."""
        with self._lock:
            return len(self._places)

    def capacity(self) -> int:
        rt = settings.RT
        return own_capacity(
            self.load(),
            held=self.held(),
            target_s=rt.stt_latency_target_ms / 1000,
            limit=rt.stt_max_streams,
        )

    # --- counting ---------------------------------------------------------------------

    async def _count_and_admit(self, place: Place, rt) -> bool:
        limit = rt.stt_max_streams
        shared = self._shared_places()
        if shared is not None:
            try:
                await self._flush_forgotten(shared)
                report = self._report()
                admitted = await shared.admit(
                    place.key, report, capacity=report["capacity"], limit=limit
                )
                if not admitted and await self._prune_stale(shared):
                    admitted = await shared.admit(
                        place.key, report, capacity=report["capacity"], limit=limit
                    )
                self._redis_back()
                return admitted
            except SharedUnavailable as exc:
                self._redis_down(exc)
        if self.redis_url:  # Redis configured, unreachable: this process's own places only
            held = self.held()
        else:
            if place.session is not None:  # else (/ws/asr/) the last reading will do
                self._db_places = await _fresh_sessions_in_db()
            with self._lock:  # sessions: the database's; streams with none: this process's
                streams = {k for k, p in self._places.items() if p.session is None}
                held = len(self._db_places | streams)
        return held + 1 <= own_capacity(
            self.load(), held=held, target_s=rt.stt_latency_target_ms / 1000, limit=limit
        )

    def _admit_new(self, place: Place, admitted: bool) -> None:
        if admitted:
            return
        load = self.load()
        metrics.server_busy()
        raise ServerBusy(
            "The interview server is busy: its speech decoders are taking as many live "
            f"interviews as they can keep within {settings.RT.stt_latency_target_ms} ms "
            f"(about {max(load.cost, load.process_cost):.2f} s of work per second of speech); "
            "try again shortly."
        )

    def _drop_stream(self, place: Place) -> bool:
        """One stream of `place` fewer; True when it was a session-less place's last."""
        with self._lock:
            left = self._streams.get(place.key, 0) - 1
            if left > 0:
                self._streams[place.key] = left
                return False
            self._streams.pop(place.key, None)
            return place.session is None and place.key in self._places

    def _report(self) -> dict:
        load = self.load()
        return {
            "capacity": self.capacity(),
            "held": self.held(),
            "cost": round(load.cost, 4),
            "cpu_cost": round(load.cpu_cost, 4),
            "process_cost": round(load.process_cost, 4),
            "final_wait_ms": round(load.final_wait_s * 1000),
            "process": self.process,
        }

    async def _prune_stale(self, shared: SharedPlaces) -> bool:
        """Shared session places with no database row (ended or deleted while
        Redis was out of reach): drop them. True if any went."""
        keys = await shared.keys()
        sessions = {k.split(":", 1)[1] for k in keys if k.startswith("session:")}
        alive = await _sessions_in_db(sessions)
        stale = [f"session:{s}" for s in sessions - alive]
        if stale:
            await shared.release(stale)
        return bool(stale)

    async def _flush_forgotten(self, shared: SharedPlaces) -> None:
        with self._lock:
            forgotten, self._forgotten = list(self._forgotten), set()
        if forgotten:
            await shared.release(forgotten)

    # --- Redis ----------------------------------------------------------------------

    def _shared_places(self) -> SharedPlaces | None:
        if not self.redis_url or time.monotonic() < self._redis_down_until:
            return None
        loop = asyncio.get_running_loop()
        shared = self._shared.get(loop)
        if shared is None:
            shared = self._shared[loop] = SharedPlaces(self.redis_url, self.prefix, self.process)
        return shared

    def _redis_down(self, exc: Exception) -> None:
        self._redis_down_until = time.monotonic() + REDIS_RETRY_S
        if not self._warned:
            self._warned = True
            log.warning(
                "Redis is unreachable for shared admission (%s); this process admits "
                "by its own places and bound until it answers again",
                exc,
            )

    def _redis_back(self) -> None:
        if self._warned:
            self._warned = False
            log.info("Redis answers again: admission is shared")

    # --- heartbeat ----------------------------------------------------------------------

    def _loop_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    def _ensure_heartbeat(self) -> None:
        loop = asyncio.get_running_loop()
        task = self._beats.get(loop)
        if task is None or task.done():
            self._beats[loop] = loop.create_task(self._heartbeat(), name="admission-heartbeat")

    async def _heartbeat(self) -> None:
        """While streams are open here: mark their places active, report headroom."""
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            await self.beat()
            if not self.open_streams:
                return

    async def beat(self) -> None:
        """One heartbeat (tests call it directly)."""
        with self._lock:
            active = [self._places[k] for k in self._streams if k in self._places]
        sessions = [p.session for p in active if p.session is not None]
        if sessions:
            await _touch_in_db(sessions)
        shared = self._shared_places()
        if shared is not None:
            try:
                await self._flush_forgotten(shared)
                await shared.heartbeat([p.key for p in active], self._report())
            except SharedUnavailable as exc:
                self._redis_down(exc)
        await self._expire_idle()

    async def _expire_idle(self) -> None:
        """Places held here with no open stream whose database place is gone
        (the session ended) or idle stop counting as held here."""
        with self._lock:
            idle = [p for k, p in self._places.items() if k not in self._streams and p.session]
        if not idle:
            return
        fresh = await _sessions_in_db({p.session.hex for p in idle}, active_since=_cutoff())
        with self._lock:
            for place in idle:
                if place.session.hex not in fresh and place.key not in self._streams:
                    self._places.pop(place.key, None)


# --- the database's places -------------------------------------------------------------


def _cutoff():
    return timezone.now() - timedelta(seconds=settings.RT.stt_admission_idle_s)


@database_sync_to_async
def _fresh_in_db(session: uuid.UUID) -> bool:
    return SpeechPlace.objects.filter(session_id=session, active_at__gte=_cutoff()).exists()


@database_sync_to_async
def _fresh_sessions_in_db() -> set[str]:
    rows = SpeechPlace.objects.filter(active_at__gte=_cutoff()).values_list("session_id", flat=True)
    return {f"session:{s.hex}" for s in rows}


@database_sync_to_async
def _sessions_in_db(hexes: set[str], active_since=None) -> set[str]:
    rows = SpeechPlace.objects.filter(session_id__in=[uuid.UUID(h) for h in hexes])
    if active_since is not None:
        rows = rows.filter(active_at__gte=active_since)
    return {s.hex for s in rows.values_list("session_id", flat=True)}


@database_sync_to_async
@transaction.atomic
def _hold_in_db(session: uuid.UUID, process: str) -> None:
    now = timezone.now()
    updated = SpeechPlace.objects.filter(session_id=session).update(active_at=now, process=process)
    if not updated:
        SpeechPlace.objects.create(
            session_id=session, admitted_at=now, active_at=now, process=process
        )


@database_sync_to_async
def _touch_in_db(sessions: list[uuid.UUID]) -> None:
    SpeechPlace.objects.filter(session_id__in=sessions).update(active_at=timezone.now())


def _delete_in_db(session: uuid.UUID) -> int:
    return SpeechPlace.objects.filter(session_id=session).delete()[0]


admission = Admission()
