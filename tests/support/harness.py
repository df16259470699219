"""One harness for the four services' in-process tests: the real app on a migrated database, no broker.

The same verbs everywhere:
- `as_operator()`, `as_coordinator("13")`, `as_facilitator(community_id)`, `as_member(member_id)`,
  `as_partner(organization_id)`: Authorization headers;
- `publish(event)`: deliver an integration event as the idempotent consumer would (the real envelope, the
  service's own subscription table, one transaction with the processed-event record);
- `advance(days=1)`: move the service's clock; `run_job(name)`: run one of its timed jobs now;
- `published(type)`: the events it wrote to its outbox, in order.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from cercle_shared.contracts import CATALOG, IntegrationEvent
from cercle_shared.db.migrations import upgrade
from cercle_shared.messaging import Envelope, Record
from tests.support.services import JWT_SECRET, SERVICES, auth

START = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    """A controllable clock: services read `app.state.clock()`; tests call `advance(...)`."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


_templates: dict[str, Path] = {}


def migrated_sqlite(name: str, directory: Path, template_root: Path) -> str:
    """A fresh SQLite database for the service, copied from one migrated once per run."""
    template = _templates.get(name)
    if template is None or not template.exists():
        template = template_root / f"{name}-template.db"
        upgrade(SERVICES[name].bootstrap().MIGRATIONS, f"sqlite:///{template}")
        _templates[name] = template
    path = directory / f"{name}.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@dataclass
class ServiceHarness:
    name: str
    database_url: str
    clock: Clock = field(default_factory=Clock)
    settings_overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        module = SERVICES[self.name]
        settings = module.settings_cls()(
            database_url=self.database_url,
            jwt_secret=JWT_SECRET,
            kafka_bootstrap="127.0.0.1:9",  # never reached: the app runs without its lifespan
            **self.settings_overrides,
        )
        self.settings = settings
        self.app = module.bootstrap().build_app(settings)
        self.app.state.clock = self.clock
        self.api = TestClient(self.app, raise_server_exceptions=False)
        self._offset = 0

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    def uow(self) -> Any:
        return self.runtime.uow()

    # --- who is calling ---------------------------------------------------------------------------------------

    def as_operator(self) -> dict[str, str]:
        return auth("operator")

    def as_coordinator(self, *regions: str) -> dict[str, str]:
        return auth("coordinator", regions=list(regions))

    def as_facilitator(self, *communities: str) -> dict[str, str]:
        return auth("facilitator", communities=list(communities))

    def as_member(self, member_id: str, *communities: str) -> dict[str, str]:
        return auth("member", member_id=member_id, communities=list(communities))

    def as_partner(self, organization_id: str | None = None) -> dict[str, str]:
        return auth("partner", organization_id=organization_id) if organization_id else auth("partner")

    # --- time ---------------------------------------------------------------------------------------------------

    def advance(self, **delta: float) -> None:
        self.clock.advance(**delta)

    def run_job(self, name: str) -> Any:
        return asyncio.run(self.runtime.jobs.run_once(name))

    # --- events -------------------------------------------------------------------------------------------------

    def publish(self, event: IntegrationEvent, *, event_id: str | None = None, source: str = "/cercle/test") -> str:
        """Deliver `event` through the real consumer path (envelope, subscription table, idempotency)."""
        envelope = dataclasses.replace(Envelope.wrap(event, source=source), time=self.clock.now)
        if event_id is not None:
            envelope = dataclasses.replace(envelope, id=event_id)
        key, value, headers = envelope.to_kafka()
        self._offset += 1
        record = Record(
            topic=CATALOG.for_event(event).topic.name,
            partition=0,
            offset=self._offset,
            key=key,
            value=value,
            headers={name: v.encode() if isinstance(v, str) else v for name, v in headers.items()},
        )
        consumer = self.runtime.messaging.consumer
        assert consumer is not None, f"{self.name} consumes no events"
        assert consumer.apply_now(record), f"{self.name} does not handle {envelope.type}"
        return envelope.id

    def published(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Outbox rows in order: {'type', 'topic', 'key', 'data'} (data None for a tombstone)."""
        outbox = self.runtime.tables.outbox
        with self.runtime.db_factory() as db:
            rows = db.execute(select(outbox).order_by(outbox.c.seq)).all()
        wanted = event_type if event_type is None or event_type.startswith("org.") else None
        out = []
        for row in rows:
            if event_type is not None:
                short = row.event_type and row.event_type.split(".")[-3:-1]
                if wanted is not None and row.event_type != wanted:
                    continue
                if wanted is None and (not short or ".".join(short) != event_type):
                    continue
            out.append(
                {
                    "type": row.event_type,
                    "topic": row.topic,
                    "key": row.key,
                    "data": json.loads(row.value) if row.value is not None else None,
                }
            )
        return out


def new_id() -> str:
    return str(uuid.uuid4())


def harness(name: str, tmp_path: Path, template_root: Path, **settings: Any) -> Iterator[ServiceHarness]:
    """Fixture body: `yield from harness("sessions", tmp_path, tmp_path_factory.getbasetemp())`."""
    h = ServiceHarness(name, migrated_sqlite(name, tmp_path, template_root), settings_overrides=settings)
    yield h
    h.runtime.engine.dispose()
