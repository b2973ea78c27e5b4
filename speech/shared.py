"""Admission shared by every server process, in Redis (speech/admission.py).

Three keys under a prefix:

- `places`, a hash: place key -> the process that holds it;
- `seen`, a sorted set: place key -> when it was last active (Redis time);
  places idle past settings.RT.stt_admission_idle_s are dropped (the TTL);
- `processes`, a hash: process -> its latest report (its capacity by its own
  measurements, places held, cost, wait for finals, and when), dropped when
  older than three heartbeats.

Admitting is one Lua script, so two processes cannot both take the last
place: a new place is admitted while the deployment's places stay within
both the bound (stt_max_streams) and the sum of the processes' reported
capacities, and the admitting process's own places within its own capacity.
"""

from __future__ import annotations

import json
import logging

import redis
import redis.asyncio as aioredis
from django.conf import settings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 0.5
REPLY_TIMEOUT_S = 1.0
# A process's report is current for three heartbeats (speech.admission.HEARTBEAT_S).
REPORT_TTL_S = 30

_EXPIRE = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) + tonumber(now_t[2]) / 1000000
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[1]))
for _, p in ipairs(stale) do
  redis.call('HDEL', KEYS[1], p)
  redis.call('ZREM', KEYS[2], p)
end
"""

# KEYS: places, seen, processes. ARGV: idle_s, report_ttl_s, process, report
# (JSON), place, own capacity, bound, force ("1": a held place comes back).
# Returns 1 for a place already held (or forced), 2 newly admitted, 0 refused.
ADMIT = (
    _EXPIRE
    + """
local report = cjson.decode(ARGV[4])
report['at'] = now
redis.call('HSET', KEYS[3], ARGV[3], cjson.encode(report))
local result = 0
if redis.call('HEXISTS', KEYS[1], ARGV[5]) == 1 or ARGV[8] == '1' then
  result = 1
else
  local total = redis.call('HLEN', KEYS[1])
  local own = 0
  for _, owner in ipairs(redis.call('HVALS', KEYS[1])) do
    if owner == ARGV[3] then own = own + 1 end
  end
  local capacity = 0
  local reports = redis.call('HGETALL', KEYS[3])
  for i = 1, #reports, 2 do
    local r = cjson.decode(reports[i + 1])
    if r['at'] >= now - tonumber(ARGV[2]) then
      capacity = capacity + r['capacity']
    else
      redis.call('HDEL', KEYS[3], reports[i])
    end
  end
  capacity = math.min(capacity, tonumber(ARGV[7]))
  if total + 1 <= capacity and own + 1 <= tonumber(ARGV[6]) then result = 2 end
end
if result > 0 then
  redis.call('HSET', KEYS[1], ARGV[5], ARGV[3])
  redis.call('ZADD', KEYS[2], now, ARGV[5])
end
return result
"""
)

# KEYS: places, seen, processes. ARGV: idle_s, process, report, place keys...
HEARTBEAT = (
    _EXPIRE
    + """
local report = cjson.decode(ARGV[3])
report['at'] = now
redis.call('HSET', KEYS[3], ARGV[2], cjson.encode(report))
for i = 4, #ARGV do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[2])
    redis.call('ZADD', KEYS[2], now, ARGV[i])
  end
end
return 1
"""
)


class SharedUnavailable(Exception):
    """Redis did not answer (or refused): the caller falls back to its own count."""


class SharedPlaces:
    """One process's client of the shared count, on one event loop."""

    def __init__(self, url: str, prefix: str, process: str) -> None:
        self.process = process
        self.keys_ = [f"{prefix}places", f"{prefix}seen", f"{prefix}processes"]
        self.client = aioredis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=REPLY_TIMEOUT_S
        )
        self._admit = self.client.register_script(ADMIT)
        self._heartbeat = self.client.register_script(HEARTBEAT)

    async def admit(
        self, place: str, report: dict, *, capacity: int, limit: int, force: bool = False
    ) -> bool:
        args = [
            settings.RT.stt_admission_idle_s,
            REPORT_TTL_S,
            self.process,
            json.dumps(report),
            place,
            capacity,
            limit,
            "1" if force else "0",
        ]
        return bool(await self._call(self._admit(keys=self.keys_, args=args)))

    async def heartbeat(self, places: list[str], report: dict) -> None:
        args = [settings.RT.stt_admission_idle_s, self.process, json.dumps(report), *places]
        await self._call(self._heartbeat(keys=self.keys_, args=args))

    async def release(self, places: list[str]) -> None:
        if not places:
            return
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(self.keys_[0], *places)
        pipe.zrem(self.keys_[1], *places)
        await self._call(pipe.execute())

    async def keys(self) -> list[str]:
        raw = await self._call(self.client.hkeys(self.keys_[0]))
        return [k.decode() if isinstance(k, bytes) else k for k in raw]

    async def reports(self) -> dict[str, dict]:
        """Each process's latest report (for operators and tests)."""
        raw = await self._call(self.client.hgetall(self.keys_[2]))
        return {(k.decode() if isinstance(k, bytes) else k): json.loads(v) for k, v in raw.items()}

    async def close(self) -> None:
        await self.client.aclose()

    async def _call(self, pending):
        try:
            return await pending
        except (redis.RedisError, OSError) as exc:
            raise SharedUnavailable(str(exc) or type(exc).__name__) from exc

    @staticmethod
    def release_sync(url: str, prefix: str, place: str) -> None:
        """Drop a place from sync code (a session ended); best effort: a place
        left behind goes at its idle timeout, or when admission finds it stale."""
        try:
            client = redis.Redis.from_url(
                url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=REPLY_TIMEOUT_S
            )
            with client.pipeline(transaction=True) as pipe:
                pipe.hdel(f"{prefix}places", place)
                pipe.zrem(f"{prefix}seen", place)
                pipe.execute()
            client.close()
        except (redis.RedisError, OSError) as exc:
            log.info("could not drop the shared place %s now (%s): it expires", place, exc)
