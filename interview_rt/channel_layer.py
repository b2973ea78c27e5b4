"""channels-redis that lives through Redis going away (docs/reliability.md,
"Redis outage").

Channels runs every consumer's receive loop on the layer: a
`redis.exceptions.ConnectionError` out of `receive` ends the consumer, and
daphne closes its socket with 1011. Here a Redis failure instead marks the
layer down (one WARNING per outage): receives wait and retry, sends to other
processes are dropped (counted; the events are persisted, and a client that
resumes gets them), group memberships are kept in this process, and a
watchdog probes Redis every `RT_CHANNEL_LAYER_RETRY_S`. When Redis answers
again the memberships are written back (a restarted Redis has lost them) and
the layer is up. Sockets of the same process never needed Redis for their
session's events: consumers.fanout delivers those directly.

It also reads this process's channels differently. channels-redis keeps one
Redis list per process for all its channels and lets every waiting consumer
take turns, under one lock, popping ONE message at a time (four round trips
each: pop, back-up, clean, un-back-up). With a hundred sockets and a burst of
events that queue backs up in Redis (docs/benchmarks.md, "Observer
fan-out"). Here one reader per process pops up to READ_BATCH messages per
round trip and hands them to per-channel queues; a burst arrives at once, so
its socket writes go out together.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from channels_redis.core import BoundedQueue, RedisChannelLayer
from channels_redis.utils import create_pool
from django.conf import settings
from redis import exceptions as redis_errors

log = logging.getLogger(__name__)

# What a lost, refused or restarting Redis raises.
REDIS_DOWN = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)
# Most messages one read takes off this process's Redis list.
READ_BATCH = 100


def raise_if_cancelled() -> None:
    """End a retry loop whose task was cancelled even if the cancellation was
    swallowed on its way up. Seen: the reader's BZPOPMIN loop went on with its
    task's cancel pending (Task.cancelling() == 1), so the event loop's
    shutdown waited for it for ever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class ResilientRedisChannelLayer(RedisChannelLayer):
    def __init__(self, *args: Any, retry_s: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_s = settings.RT.channel_layer_retry_s if retry_s is None else retry_s
        # This process's memberships, written back to Redis after an outage.
        self.memberships: dict[str, set[str]] = defaultdict(set)
        self.departed: set[tuple[str, str]] = set()  # discards Redis missed
        self.down_since: float | None = None
        self.dropped = 0  # messages to other processes lost in this outage
        self.watchdog: asyncio.Task | None = None
        # Process-local channel -> its messages (a full queue drops its oldest).
        self.inboxes: dict[str, asyncio.Queue] = defaultdict(lambda: BoundedQueue(self.capacity))
        self.readers: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}

    def create_pool(self, index: int):
        # redis-py 8 reads with a 5 s socket timeout, and channels-redis blocks
        # 5 s in BZPOPMIN: the read would time out on every idle channel.
        host = {"socket_timeout": self.brpop_timeout + 5, **self.hosts[index]}
        return create_pool(host)

    @property
    def is_down(self) -> bool:
        return self.down_since is not None

    # --- the channel layer API, guarded ---------------------------------------------

    async def group_add(self, group: str, channel: str) -> None:
        self.memberships[group].add(channel)
        self.departed.discard((group, channel))
        await self.guarded("group_add", super().group_add, group, channel)

    async def group_discard(self, group: str, channel: str) -> None:
        members = self.memberships.get(group)
        if members is not None:
            members.discard(channel)
            if not members:
                del self.memberships[group]
        if self.is_down:
            self.departed.add((group, channel))
            return
        await self.guarded("group_discard", super().group_discard, group, channel)

    async def group_send(self, group: str, message: dict) -> None:
        await self.guarded("group_send", super().group_send, group, message, drop=True)

    async def send(self, channel: str, message: dict) -> None:
        await self.guarded("send", super().send, channel, message, drop=True)

    async def receive(self, channel: str) -> dict:
        assert self.require_valid_channel_name(channel)
        if "!" not in channel:  # a general channel: channels-redis's receive, retried
            while True:
                raise_if_cancelled()
                if self.is_down:
                    await asyncio.sleep(self.retry_s)
                    continue
                try:
                    return await super().receive(channel)
                except REDIS_DOWN as exc:
                    self.went_down("receive", exc)
        assert self.non_local_name(channel) == self.process_channel(), "not this layer's channel"
        self.start_reader()
        queue = self.inboxes[channel]
        try:
            return await queue.get()
        except asyncio.CancelledError:
            if queue.empty() and self.inboxes.get(channel) is queue:
                del self.inboxes[channel]  # its consumer has ended
            raise

    def process_channel(self) -> str:
        """The Redis list of every channel of this process (what new_channel makes)."""
        return f"specific.{self.client_prefix}!"

    def start_reader(self) -> None:
        loop = asyncio.get_running_loop()
        reader = self.readers.get(loop)
        if reader is None or reader.done():
            self.readers[loop] = loop.create_task(self.read_process_channel())

    async def read_process_channel(self) -> None:
        """Pop this process's messages in batches into their channels' queues."""
        name = self.process_channel()
        key, index = self.prefix + name, self.consistent_hash(name)
        while True:
            raise_if_cancelled()
            if self.is_down:
                await asyncio.sleep(self.retry_s)
                continue
            try:
                connection = self.connection(index)
                first = await connection.bzpopmin(key, timeout=self.brpop_timeout)
                if first is None:
                    continue
                batch = [first[1]] + [m for m, _ in await connection.zpopmin(key, READ_BATCH - 1)]
            except REDIS_DOWN as exc:
                self.went_down("receive", exc)
                continue
            for raw in batch:
                message = self.deserialize(raw)
                channels = message.pop("__asgi_channel__", [])
                for channel in channels if isinstance(channels, list) else [channels]:
                    self.inboxes[channel].put_nowait(message)

    # --- outage and recovery ------------------------------------------------------------

    async def guarded(
        self, what: str, call: Callable[..., Awaitable[Any]], *args: Any, drop: bool = False
    ) -> None:
        """Run a Redis call unless Redis is down; a failure marks it down.
        `drop`: the call sends a message, which is lost (and counted)."""
        if self.is_down:
            self.dropped += drop
            return
        try:
            await call(*args)
        except REDIS_DOWN as exc:
            self.dropped += drop
            self.went_down(what, exc)

    def went_down(self, what: str, exc: BaseException) -> None:
        if not self.is_down:
            self.down_since = time.monotonic()
            self.dropped = 0
            log.warning(
                "channel layer: Redis unreachable (%s: %s); sockets of this process "
                "keep their own sessions' events, other processes miss them until "
                "Redis is back (retrying every %.1f s)",
                what,
                exc,
                self.retry_s,
            )
        if self.watchdog is None or self.watchdog.done():
            self.watchdog = asyncio.get_running_loop().create_task(self.wait_for_redis())

    async def wait_for_redis(self) -> None:
        while True:
            raise_if_cancelled()
            await asyncio.sleep(self.retry_s)
            try:
                # Pooled connections from before the outage are dead: start afresh.
                await self.close_pools()
                for index in range(self.ring_size):
                    await self.connection(index).ping()
                await self.restore_memberships()
            except REDIS_DOWN:
                continue
            break
        took = time.monotonic() - (self.down_since or time.monotonic())
        log.warning(
            "channel layer: Redis reachable again after %.1f s; %d group memberships "
            "restored, %d messages to other processes were dropped meanwhile",
            took,
            sum(len(m) for m in self.memberships.values()),
            self.dropped,
        )
        self.down_since = None

    async def restore_memberships(self) -> None:
        for group, channel in list(self.departed):
            await super().group_discard(group, channel)
            self.departed.discard((group, channel))
        for group, members in list(self.memberships.items()):
            for channel in list(members):
                await super().group_add(group, channel)
