"""Timed work, the third kind of entrypoint beside HTTP routes and event consumers.

Each service lists its jobs in `entrypoints/jobs.py` (name, interval, function). The runner gives every job
the same treatment: one run at a time, a bound on each run, errors logged and retried next round, an early
wake-up on demand (`wake(name)`), and a graceful stop that lets the run in hand finish within a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

JobFunction = Callable[[], Awaitable[object] | object]


@dataclass(frozen=True)
class Job:
    """`run` is called every `every` seconds (a plain function runs in a worker thread, so it may block)."""

    name: str
    every: float
    run: JobFunction
    timeout: float | None = 60.0
    description: str = ""
    runs: list[float] = field(default_factory=list, compare=False, repr=False)  # start times, for status


class JobRunner:
    def __init__(self, jobs: Iterable[Job], *, service: str = "") -> None:
        self.jobs = {job.name: job for job in jobs}
        self._service = service
        self._stopping = asyncio.Event()
        self._wake: dict[str, asyncio.Event] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._event_loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._event_loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        for job in self.jobs.values():
            self._wake[job.name] = asyncio.Event()
            self._tasks.append(asyncio.create_task(self._loop(job), name=f"{self._service}-job-{job.name}"))

    def wake(self, name: str) -> None:
        """Run a job now instead of at its next tick (e.g. after a commit that made work for it).

        Safe from any thread (HTTP handlers and consumers commit in worker threads); a no-op before `start()`."""
        event = self._wake.get(name)
        loop = self._event_loop
        if event is None or loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(event.set)

    def waker(self, name: str) -> Callable[[], None]:
        """`wake(name)` as a callback, e.g. for a commit hook: `runner.waker("send-emails")`."""
        return lambda: self.wake(name)

    async def run_once(self, name: str) -> object:
        return await self._call(self.jobs[name])

    async def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        for event in self._wake.values():
            event.set()
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(self._tasks, timeout=timeout)
        for task in pending:
            log.warning("%s: job %s did not stop within %.1fs; cancelled", self._service, task.get_name(), timeout)
            task.cancel()
        self._tasks = []

    async def _loop(self, job: Job) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                await self._call(job)
            except TimeoutError:
                log.error("%s: job %s ran longer than %ss; abandoned this round", self._service, job.name, job.timeout)
            except Exception:  # the database or broker may be briefly away: try again next round
                log.exception("%s: job %s failed", self._service, job.name)
            elapsed = time.monotonic() - started
            await self._pause(job, max(0.0, job.every - elapsed))

    async def _call(self, job: Job) -> object:
        job.runs.append(time.time())
        del job.runs[:-10]
        if job.timeout is None:
            return await _invoke(job.run)
        return await asyncio.wait_for(_invoke(job.run), timeout=job.timeout)

    async def _pause(self, job: Job, seconds: float) -> None:
        wake = self._wake[job.name]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=seconds)
        wake.clear()


async def _invoke(run: JobFunction) -> object:
    is_async = inspect.iscoroutinefunction(run) or inspect.iscoroutinefunction(type(run).__call__)
    result = run() if is_async else await asyncio.to_thread(run)
    if inspect.isawaitable(result):  # also a plain callable around async work, e.g. `lambda: relay.flush()`
        return await result
    return result
