"""Polling instead of fixed sleeps."""

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    timeout: float,
    interval: float = 0.1,
    message: str = "condition",
) -> T:
    """Call `predicate` until it returns something truthy and return that value.

    Raises TimeoutError after `timeout` seconds. Exceptions from the predicate propagate,
    so a predicate can fail fast (e.g. when the process it waits for has died).
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {message}")
        time.sleep(interval)


async def wait_until_async(
    predicate: Callable[[], T | Awaitable[T]],
    timeout: float,
    interval: float = 0.1,
    message: str = "condition",
) -> T:
    """`wait_until` for async code; `predicate` may be a plain or an async callable."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {message}")
        await asyncio.sleep(interval)
