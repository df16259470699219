"""A service's runtime (database + messaging) and its FastAPI application, assembled the same way everywhere."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from faststream.specification import AsyncAPI, get_asyncapi_html
from sqlalchemy import Engine, MetaData, text
from sqlalchemy.orm import Session, sessionmaker

from .contracts import CATALOG
from .db import make_engine, make_session_factory, messaging_tables
from .db.tables import MessagingTables
from .jobs import Job, JobRunner
from .messaging import Messaging, Outbox, Subscriptions
from .messaging.consumer import prune_processed
from .messaging.outbox import purge_published
from .settings import ServiceSettings
from .uow import UnitOfWork
from .web.nul import RefuseNul
from .web.problems import document_problems, install_problem_handlers, problem

log = logging.getLogger(__name__)


UnitOfWorkFactory = Callable[[sessionmaker[Session], Outbox], UnitOfWork]
"""unit_of_work(db_factory, outbox) -> a new unit of work of the service (one per use case or event)."""


@dataclass
class ServiceRuntime:
    name: str
    settings: ServiceSettings
    engine: Engine
    db_factory: sessionmaker[Session]
    tables: MessagingTables
    outbox: Outbox
    messaging: Messaging
    unit_of_work: UnitOfWorkFactory
    jobs: JobRunner = field(default_factory=lambda: JobRunner(()))

    @classmethod
    def build(
        cls,
        name: str,
        settings: ServiceSettings,
        metadata: MetaData,
        unit_of_work: UnitOfWorkFactory,
        subscriptions: Subscriptions | None = None,
    ) -> ServiceRuntime:
        engine = make_engine(settings.database_url, pre_ping=settings.database_pre_ping)
        db_factory = make_session_factory(engine)
        tables = messaging_tables(metadata)
        outbox = Outbox(tables, source=f"/cercle/{name}")
        messaging = Messaging(
            service=name,
            settings=settings,
            db_factory=db_factory,
            tables=tables,
            outbox=outbox,
            uow_factory=lambda: unit_of_work(db_factory, outbox),
            subscriptions=subscriptions,
        )
        return cls(name, settings, engine, db_factory, tables, outbox, messaging, unit_of_work)

    def uow(self) -> UnitOfWork:
        """A new unit of work of this service."""
        return self.unit_of_work(self.db_factory, self.outbox)

    def schedule(self, jobs: Iterable[Job]) -> None:
        """The service's timed jobs (its `entrypoints/jobs.py`), started and stopped with the service."""
        self.jobs = JobRunner(jobs, service=self.name)

    async def start(self) -> None:
        await self.messaging.start()
        self.jobs.start()

    async def stop(self) -> None:
        await self.jobs.stop(timeout=self.settings.shutdown_timeout / 2)
        await self.messaging.stop()
        self.engine.dispose()

    def database_ok(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("select 1"))
            return True
        except Exception as exc:
            log.warning("%s: database not reachable: %s", self.name, exc)
            return False

    def asyncapi(self, version: str = "1.0.0") -> dict[str, Any]:
        spec = AsyncAPI(
            self.messaging.broker,
            title=f"Cercle {self.name} events",
            version=version,
            description=f"Events the {self.name} service publishes and consumes. Every message is a "
            "CloudEvents 1.0 event in the Kafka protocol binding (binary mode: ce_* headers, JSON data).",
        ).to_specification()
        return document_consumed(json.loads(spec.to_json()), self.name, self.messaging.subscriptions)


@dataclass(frozen=True)
class AsyncAPIDocument:
    """A finished AsyncAPI document in the shape of FastStream's `Specification`, for its HTML page to render."""

    document: dict[str, Any]

    @property
    def title(self) -> str:
        return str(self.document.get("info", {}).get("title", ""))

    def to_jsonable(self) -> Any:
        return self.document

    def to_json(self) -> str:
        return json.dumps(self.document)

    def to_yaml(self) -> str:
        import yaml  # only when asked, as FastStream does

        return str(yaml.safe_dump(self.document, sort_keys=False))


def document_consumed(document: dict[str, Any], service: str, subscriptions: Subscriptions | None) -> dict[str, Any]:
    """FastStream documents one subscriber with a placeholder payload: list instead, per consumed topic,
    the event types this service actually handles there, each with its JSON Schema."""
    if subscriptions is None:
        return document
    prefix = f"{service}:consume"
    channels = document.setdefault("channels", {})
    operations = document.setdefault("operations", {})
    components = document.setdefault("components", {})
    messages = components.setdefault("messages", {})
    schemas = components.setdefault("schemas", {})
    for collection in (channels, operations, messages, schemas):
        for key in [k for k in collection if k.startswith(prefix)]:
            del collection[key]
    servers = [{"$ref": f"#/servers/{name}"} for name in document.get("servers", {})]
    for topic in subscriptions.topics():
        handled = [spec for spec in CATALOG if spec.topic.name == topic and subscriptions.handler_for(spec.type)]
        channel_id = f"{prefix}:{topic}"
        channel_messages: dict[str, Any] = {}
        for spec in handled:
            schema_name = f"{spec.type}:Payload"
            schemas.setdefault(schema_name, spec.model.model_json_schema(ref_template="#/components/schemas/{model}"))
            message_id = f"{channel_id}:{spec.type}"
            messages[message_id] = {
                "title": spec.type,
                "name": spec.type,
                "summary": (spec.model.__doc__ or "").strip().splitlines()[0] if spec.model.__doc__ else spec.type,
                "correlationId": {"location": "$message.header#/ce_correlationid"},
                "payload": {"$ref": f"#/components/schemas/{schema_name}"},
            }
            channel_messages[spec.type] = {"$ref": f"#/components/messages/{message_id}"}
        if subscriptions.tombstone_handler(topic) is not None:
            channel_messages["tombstone"] = {"$ref": f"#/components/messages/{prefix}:tombstone"}
            messages[f"{prefix}:tombstone"] = {
                "title": "tombstone",
                "summary": "A null-valued record: compaction deletes every older value of its key.",
                "payload": {"type": "null"},
            }
        channels[channel_id] = {
            "address": topic,
            "description": f"Consumed idempotently by {service}: "
            + ", ".join([spec.type for spec in handled] + (["tombstones"] if "tombstone" in channel_messages else [])),
            "bindings": {"kafka": {"bindingVersion": "0.4.0", "topic": topic}},
            "messages": channel_messages,
            "servers": servers,
        }
        operations[f"{channel_id}:receive"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"} for name in channel_messages],
        }
    return document


def create_app(
    runtime: ServiceRuntime,
    routers: Iterable[APIRouter],
    *,
    title: str,
    description: str,
    version: str = "1.0.0",
    public_paths: Iterable[str] = (),
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    app.add_middleware(RefuseNul)
    app.state.runtime = runtime
    app.state.jwt_secret = runtime.settings.jwt_secret.get_secret_value()
    install_problem_handlers(app)

    @app.get("/healthz", tags=["health"], summary="The process is up.")
    def healthz() -> dict[str, str]:
        return {"status": "up"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="The database and the broker are reachable.",
        description="`relay`: whether this instance's outbox relay publishes (`active`: it holds the service's "
        "relay lock, or the database is SQLite, single-instance) or stands by (`standby`). One instance per service "
        "is active; a standby is ready all the same.",
        response_model=None,
    )
    async def readyz() -> dict[str, Any] | JSONResponse:
        database = await asyncio.to_thread(runtime.database_ok)
        broker = await runtime.messaging.ping(2.0)
        checks = {"database": "up" if database else "down", "broker": "up" if broker else "down"}
        relay = runtime.messaging.relay_state
        if database and broker:
            return {"status": "ready", "checks": checks, "relay": relay}
        response = problem(503, "Not ready", f"database: {checks['database']}, broker: {checks['broker']}")
        body = json.loads(bytes(response.body))
        body["checks"] = checks
        body["relay"] = relay
        return JSONResponse(body, status_code=503, media_type=response.media_type)

    @app.get("/asyncapi.json", tags=["docs"], summary="AsyncAPI document of this service's events.")
    def asyncapi_json() -> dict[str, Any]:
        return runtime.asyncapi(version)

    @app.get("/asyncapi", tags=["docs"], summary="AsyncAPI document, rendered.", response_class=HTMLResponse)
    def asyncapi_html() -> str:
        return get_asyncapi_html(AsyncAPIDocument(runtime.asyncapi(version)), try_it_out_path=None)

    for router in routers:
        app.include_router(router)
    document_problems(app, public_paths={"/healthz", "/readyz", "/asyncapi.json", "/asyncapi", *public_paths})
    return app


def housekeeping_jobs(runtime: ServiceRuntime) -> list[Job]:
    """The jobs every service runs for its own plumbing; each service's `entrypoints/jobs.py` lists them."""
    retention = timedelta(seconds=runtime.settings.outbox_retention)

    def purge_outbox() -> int:
        return purge_published(runtime.db_factory, runtime.tables, older_than=retention)

    def prune_processed_ids() -> int:
        retention = timedelta(seconds=runtime.settings.processed_events_retention)
        return prune_processed(runtime.db_factory, runtime.tables, older_than=retention)

    return [
        Job(
            "purge-published-outbox",
            every=runtime.settings.housekeeping_interval,
            run=purge_outbox,
            description="Delete outbox rows published more than CERCLE_OUTBOX_RETENTION seconds ago.",
        ),
        Job(
            "prune-processed-events",
            every=runtime.settings.housekeeping_interval,
            run=prune_processed_ids,
            description="Forget the ids of events applied more than CERCLE_PROCESSED_EVENTS_RETENTION seconds ago.",
        ),
    ]
