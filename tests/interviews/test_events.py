"""Broadcasting from sync code (services' on_commit hooks)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from interviews import events


def _run_sync_in_loop_thread(sync_part) -> None:
    """Run `sync_part` as a consumer's database call runs: in a sync_to_async
    thread, with an event loop (in its own thread) as the caller."""

    async def caller():
        await sync_to_async(sync_part, thread_sensitive=False)(asyncio.get_running_loop())

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=lambda: _run_until_stopped(loop, caller()), daemon=True)
    thread.start()


def _run_until_stopped(loop, coro) -> None:
    # "Event loop stopped before Future completed": the shutdown.
    with contextlib.suppress(RuntimeError):
        loop.run_until_complete(coro)


def test_broadcast_from_a_sync_thread_reaches_the_group():
    layer = get_channel_layer()
    session_id = uuid.uuid4()
    channel = asyncio.run(_listen(layer, session_id))
    done = threading.Event()

    def sync_part(loop):
        events.broadcast(events.ephemeral(session_id, "presence", candidates=1))
        done.set()

    _run_sync_in_loop_thread(sync_part)
    assert done.wait(10)
    message = asyncio.run(asyncio.wait_for(layer.receive(channel), 5))
    assert message["event"]["type"] == "presence"
    assert message["event"]["candidates"] == 1


async def _listen(layer, session_id) -> str:
    channel = await layer.new_channel()
    await layer.group_add(events.session_group(session_id), channel)
    return channel


def test_broadcast_returns_when_the_servers_loop_has_stopped():
    """SIGTERM stops daphne's loop; a sync thread recording an event at that
    moment must not wait for the loop forever (the process could not exit)."""
    done = threading.Event()
    took: list[float] = []

    def sync_part(loop):
        loop.call_soon_threadsafe(loop.stop)  # the server shuts down
        while loop.is_running():
            time.sleep(0.01)
        started = time.monotonic()
        events.broadcast(events.ephemeral(uuid.uuid4(), "presence", candidates=0))
        took.append(time.monotonic() - started)
        done.set()

    _run_sync_in_loop_thread(sync_part)
    assert done.wait(15), "broadcast waited for a stopped loop"
    assert took[0] < 1.0
