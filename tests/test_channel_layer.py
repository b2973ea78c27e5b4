"""The channel layer's retry loops end when their task is cancelled, even
where a library swallows the cancellation (interview_rt/channel_layer.py)."""

from __future__ import annotations

import asyncio

from interview_rt.channel_layer import ResilientRedisChannelLayer


class SwallowingConnection:
    """A BZPOPMIN that, cancelled the first time, answers 'nothing popped'
    instead of raising: what the reader met at an event loop's shutdown (it
    looped for ever). Later calls raise as they should, so a failing test
    can still end."""

    def __init__(self) -> None:
        self.calls = 0

    async def bzpopmin(self, key, timeout):  # noqa: ASYNC109 (redis-py's signature)
        self.calls += 1
        try:
            await asyncio.sleep(timeout)
        except asyncio.CancelledError:
            if self.calls > 1:
                raise
        return None


async def test_the_reader_ends_when_cancelled_though_redis_swallowed_the_cancel():
    layer = ResilientRedisChannelLayer(hosts=["redis://127.0.0.1:1/0"], retry_s=0.05)
    connection = SwallowingConnection()
    layer.connection = lambda index: connection
    reader = asyncio.get_running_loop().create_task(layer.read_process_channel())
    await asyncio.sleep(0.05)
    assert connection.calls == 1

    reader.cancel()
    done, _ = await asyncio.wait([reader], timeout=2)

    assert done == {reader} and reader.cancelled()
    assert connection.calls == 1  # no BZPOPMIN after the cancel


async def test_the_watchdog_ends_when_cancelled():
    layer = ResilientRedisChannelLayer(hosts=["redis://127.0.0.1:1/0"], retry_s=0.05)
    layer.went_down("test", OSError("refused"))
    watchdog = layer.watchdog
    await asyncio.sleep(0.12)  # a few failed probes of the closed port

    watchdog.cancel()
    done, _ = await asyncio.wait([watchdog], timeout=2)

    assert done == {watchdog} and watchdog.cancelled()
