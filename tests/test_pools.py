"""interview_rt/pools.py: one named pool per kind of blocking work."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from interview_rt import pools


@pytest.mark.parametrize("name", sorted(pools.SIZES))
def test_each_pool_is_sized_by_its_setting_and_names_its_threads(name):
    with override_settings(RT=replace(settings.RT, **{pools.SIZES[name]: 3})):
        pool = pools.executor(name)
        together = threading.Barrier(3, timeout=10)
        # Three calls meet at the barrier only if three threads run them at once.
        assert [f.result() for f in [pool.submit(together.wait) for _ in range(3)]]
        assert pools.size(name) == 3
        assert pools.executor(name) is pool  # made once per size
        thread_name, native = pool.submit(
            lambda: (threading.current_thread().name, threading.get_native_id())
        ).result()
        assert thread_name.startswith(f"{name}_")
        if Path("/proc/self/task").is_dir():
            assert Path(f"/proc/self/task/{native}/comm").read_text().strip() == thread_name


def test_run_awaits_the_call_off_the_event_loop():
    async def main():
        loop_thread = threading.get_ident()
        worker = await pools.run("reports", threading.get_ident)
        return loop_thread, worker

    loop_thread, worker = asyncio.run(main())
    assert worker != loop_thread


def test_shutdown_stops_the_pools_and_the_next_use_makes_new_ones():
    before = pools.executor("evaluation")
    pools.shutdown()
    with pytest.raises(RuntimeError):
        before.submit(print)
    after = pools.executor("evaluation")
    assert after is not before and after.submit(lambda: 42).result() == 42


def test_an_unknown_pool_name_is_an_error():
    with pytest.raises(KeyError):
        pools.executor("gpu")
