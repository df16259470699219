"""A sliding window of misses per client address, for the secret-URL calendar feeds: whoever guesses tokens gets
a 429 (with Retry-After) before getting anywhere, and a throttled address learns nothing, not even from a right
guess. In-process: each process of the service counts its own misses."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from datetime import datetime

from cercle_shared.errors import TooManyRequests


class MissThrottle:
    def __init__(self, *, limit: int, window: float, max_clients: int = 10_000) -> None:
        self._limit = limit
        self._window = window
        self._max_clients = max_clients
        self._misses: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, client: str, at: datetime) -> None:
        """Raise TooManyRequests while `client` has `limit` misses within the window before `at`."""
        now = at.timestamp()
        with self._lock:
            misses = self._recent(client, now)
            if misses is not None and len(misses) >= self._limit:
                retry_after = max(1, math.ceil(misses[0] + self._window - now))
                raise TooManyRequests(
                    "too many requests for unknown calendar feeds from your address; try again later",
                    retry_after=retry_after,
                )

    def miss(self, client: str, at: datetime) -> None:
        now = at.timestamp()
        with self._lock:
            misses = self._recent(client, now)
            if misses is None:
                misses = self._misses[client] = deque()
                while len(self._misses) > self._max_clients:
                    self._misses.popitem(last=False)
            misses.append(now)
            self._misses.move_to_end(client)
            while len(misses) > self._limit:
                misses.popleft()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        misses = self._misses.get(client)
        if misses is None:
            return None
        while misses and misses[0] <= now - self._window:
            misses.popleft()
        if not misses:
            del self._misses[client]
            return None
        return misses
