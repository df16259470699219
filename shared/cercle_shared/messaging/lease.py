"""One active outbox relay per service, and the cross-instance wake-up, on PostgreSQL.

The lease is a session-level advisory lock (`pg_try_advisory_lock`) held by a dedicated connection: the
instance whose connection holds it relays, the others stand by and try again every `retry_interval`. When the
holder dies, its connection closes (at once on a crash or SIGKILL: the kernel closes the socket; after the
server's TCP keep-alive on a lost host) and PostgreSQL releases the lock, so a standby takes over within about
`retry_interval`. The same connection LISTENs on the service's outbox channel: a commit that wrote events on
any instance (`pg_notify` in its transaction) wakes the active relay at once.

Fencing: the relay reads a batch only while this connection's backend holds the lock (`lock_guard()`), so a
holder that lost its connection stops reading within one batch, even before it notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import zlib
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

LOCK_NAMESPACE = 0x43524C59  # "CRLY": the first key of Cercle's relay locks (two-int advisory lock form)


def lock_key(service: str) -> int:
    """The second key of a service's relay lock: stable across instances and versions."""
    return zlib.crc32(service.encode()) & 0x7FFFFFFF


def libpq_url(database_url: str) -> str:
    """A SQLAlchemy URL (`postgresql+psycopg://...`) as libpq takes it."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class RelayLease:
    """The advisory lock that makes one relay active per service; see the module's docstring."""

    def __init__(
        self,
        database_url: str,
        *,
        service: str,
        channel: str | None = None,
        retry_interval: float = 1.0,
        check_interval: float = 2.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self._conninfo = libpq_url(database_url)
        self.service = service
        self.key = lock_key(service)
        self._channel = channel
        self._retry_interval = retry_interval
        self._check_interval = check_interval
        self._connect_timeout = connect_timeout
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[], None]] = []
        self.backend_pid: int | None = None
        self.held = False
        self.takeovers = 0

    @property
    def state(self) -> str:
        return "active" if self.held else "standby"

    def on_notify(self, listener: Callable[[], None]) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)

    async def acquire(self, stopping: asyncio.Event) -> bool:
        """Try once to take the lock; when another instance holds it (or the database is away), wait
        `retry_interval` (or until `stopping`) and return False."""
        try:
            if await self._try_lock():
                return True
        except Exception as exc:
            log.warning("outbox relay lease (%s): %s; trying again in %.1fs", self.service, exc, self._retry_interval)
            await self._close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=self._retry_interval)
        return False

    async def _try_lock(self) -> bool:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=max(1, round(self._connect_timeout)),
                # who holds it, for an operator (pg_stat_activity joined with pg_locks): service and process id
                application_name=f"cercle-{self.service}-relay-{os.getpid()}"[:63],
                keepalives=1,
                keepalives_idle=5,
                keepalives_interval=2,
                keepalives_count=3,
            )
        conn = self._conn
        cursor = await conn.execute(
            "SELECT pg_try_advisory_lock(%s::int4, %s::int4), pg_backend_pid()", (LOCK_NAMESPACE, self.key)
        )
        row = await cursor.fetchone()
        if row is None or not row[0]:
            return False
        if self._channel:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        self.backend_pid = int(row[1])
        self.held = True
        self.takeovers += 1
        log.info("outbox relay (%s): active (lock held by backend %s)", self.service, self.backend_pid)
        self._watch = asyncio.create_task(self._keep(conn), name=f"{self.service}-relay-lease")
        return True

    async def _keep(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """While held: pass notifications on, and check the connection; its loss is the lease's loss."""
        try:
            while True:
                async for _ in conn.notifies(timeout=self._check_interval):
                    for listener in self._listeners:
                        listener()
                await conn.execute("SELECT 1")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("outbox relay (%s): lease lost (%s); standing by", self.service, exc)
        finally:
            self.held = False
            self.backend_pid = None
            for listener in self._listeners:  # the relay notices at once and stands by
                listener()

    def lock_guard(self) -> TextClause | None:
        """A condition true only while this lease's backend holds the lock: the relay's read is fenced by it."""
        if self.backend_pid is None:
            return None
        return text(
            "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = :lock_ns AND objid = :lock_key "
            "AND objsubid = 2 AND pid = :lock_pid AND granted)"
        ).bindparams(
            bindparam("lock_ns", LOCK_NAMESPACE),
            bindparam("lock_key", self.key),
            bindparam("lock_pid", self.backend_pid),
        )

    async def release(self) -> None:
        """Give the lock up (closing the connection releases it): a standby takes over."""
        self.held = False
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(BaseException):
                await self._watch
            self._watch = None
        await self._close()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        self.backend_pid = None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
