"""The job runner: every interval, past a failure, within a bound, early on demand, and a graceful stop.

Timings are loose on purpose (a shared, slow machine): each test waits for what it expects, within seconds.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from cercle_shared.jobs import Job, JobRunner
from devtools.wait import wait_until_async


class Calls:
    """A job body counting its runs; `outcomes` says what each run does (default: return None)."""

    def __init__(self, *outcomes: object) -> None:
        self.count = 0
        self.outcomes = list(outcomes)

    async def __call__(self) -> object:
        self.count += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, Exception):
            raise outcome
        if isinstance(outcome, float):
            await asyncio.sleep(outcome)
        return outcome


async def _running(*jobs: Job) -> JobRunner:
    runner = JobRunner(jobs, service="test")
    runner.start()
    return runner


async def test_a_job_runs_at_once_then_every_interval():
    calls = Calls()
    job = Job("tick", every=0.1, run=calls)
    runner = await _running(job)
    try:
        await wait_until_async(lambda: calls.count >= 4, 10, interval=0.01, message="four runs")
    finally:
        await runner.stop()
    gaps = [later - earlier for earlier, later in zip(job.runs, job.runs[1:], strict=False)]
    assert all(gap >= 0.09 for gap in gaps), gaps  # paced by its interval, not a busy loop


async def test_a_job_that_raises_is_logged_and_runs_again_next_round(caplog):
    calls = Calls(RuntimeError("database away"))
    runner = await _running(Job("flaky", every=0.05, run=calls))
    try:
        await wait_until_async(lambda: calls.count >= 3, 10, interval=0.01, message="runs after the failure")
    finally:
        await runner.stop()
    failures = [r for r in caplog.records if r.levelno == logging.ERROR and "flaky failed" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert "database away" in str(failures[0].exc_info[1])


async def test_a_run_longer_than_its_timeout_is_abandoned_and_the_next_round_comes(caplog):
    calls = Calls(3600.0)
    runner = await _running(Job("slow", every=0.05, run=calls, timeout=0.1))
    started = time.monotonic()
    try:
        await wait_until_async(lambda: calls.count >= 2, 10, interval=0.01, message="a second run")
    finally:
        await runner.stop()
    assert time.monotonic() - started < 5
    assert any("slow ran longer than 0.1s" in r.getMessage() for r in caplog.records)


async def test_run_once_is_bounded_by_the_timeout_too():
    runner = JobRunner([Job("slow", every=60, run=Calls(3600.0), timeout=0.05)])
    with pytest.raises(TimeoutError):
        await runner.run_once("slow")


async def test_wake_runs_a_job_before_its_interval():
    calls = Calls()
    runner = await _running(Job("rare", every=3600, run=calls))
    try:
        await wait_until_async(lambda: calls.count == 1, 10, interval=0.01, message="the first run")
        await asyncio.sleep(0.2)
        assert calls.count == 1  # the next tick is an hour away
        runner.wake("rare")
        await wait_until_async(lambda: calls.count == 2, 5, interval=0.01, message="the early run")
        runner.wake("no such job")  # harmless
    finally:
        await runner.stop()


async def test_stop_lets_the_run_in_hand_finish_then_runs_nothing_more():
    finished = []

    async def work() -> None:
        await asyncio.sleep(0.3)
        finished.append(time.monotonic())

    runner = await _running(Job("steady", every=0.01, run=work))
    await asyncio.sleep(0.1)  # the first run is under way
    stopped = time.monotonic()
    await runner.stop(timeout=5)
    assert len(finished) == 1
    assert finished[0] >= stopped  # stop waited for it rather than cancelling it
    await asyncio.sleep(0.2)
    assert len(finished) == 1


async def test_stop_cancels_a_run_that_outlasts_the_stop_bound(caplog):
    cancelled = asyncio.Event()

    async def stuck() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    runner = await _running(Job("stuck", every=60, run=stuck, timeout=None))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await runner.stop(timeout=0.2)
    assert time.monotonic() - started < 2
    await asyncio.wait_for(cancelled.wait(), 2)
    assert any("did not stop within 0.2s" in r.getMessage() for r in caplog.records)


async def test_a_plain_function_runs_in_a_worker_thread_and_returns_its_value():
    def blocking() -> str:
        time.sleep(0.05)
        return threading.current_thread().name

    runner = JobRunner([Job("blocking", every=60, run=blocking)])
    assert await runner.run_once("blocking") != threading.current_thread().name


async def test_a_plain_callable_around_async_work_has_that_work_awaited():
    done = []

    async def flush() -> str:
        await asyncio.sleep(0)
        done.append(1)
        return "flushed"

    runner = JobRunner([Job("wrapped", every=60, run=lambda: flush())])
    assert await runner.run_once("wrapped") == "flushed"
    assert done == [1]
