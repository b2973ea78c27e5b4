"""Where the counts live: Redis when REDIS_URL is set (every process shares
them), and a Redis that cannot be reached admits rather than locking out."""

from __future__ import annotations

import logging
import os
import socket
import uuid

import pytest
from django.test import override_settings

from interview_rt import ratelimits
from tests.conftest import require_service

REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.redis
async def test_counts_in_redis_are_shared_by_every_limiter(limits):
    require_service(redis_up(), "Redis is not running on 127.0.0.1:6379")
    limits(socket="2/minute")
    client = f"10.{uuid.uuid4().int % 250}.0.{uuid.uuid4().int % 250}-{uuid.uuid4().hex}"
    with override_settings(REDIS_URL=REDIS):
        ratelimits.reset()
        # One "process" counts two (the sync limiter), another (the asyncio
        # one, its own connection) sees them: the third is refused.
        assert ratelimits.hit("socket", client) is None
        assert await ratelimits.ahit("socket", client) is None
        assert ratelimits.hit("socket", client) is not None
        assert await ratelimits.ahit("socket", client) is not None
        assert await ratelimits.ahit("socket", client + "-other") is None
    ratelimits.reset()


async def test_an_unreachable_redis_admits_and_warns(limits, caplog):
    limits(socket="1/minute", upload="1/minute")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0"):
        ratelimits.reset()
        with caplog.at_level(logging.WARNING, logger="interview_rt.ratelimits"):
            for _ in range(3):
                assert await ratelimits.ahit("socket", "10.0.0.9") is None
                assert ratelimits.hit("upload", "10.0.0.9") is None
    assert any("rate limit storage failed" in r.getMessage() for r in caplog.records)
    ratelimits.reset()
