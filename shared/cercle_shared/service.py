"""A service's runtime (database + messaging) and its FastAPI application, assembled the same way everywhere."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from faststream.specification import AsyncAPI, get_asyncapi_html
from sqlalchemy import Engine, MetaData, text
from sqlalchemy.orm import Session, sessionmaker

from .db import make_engine, make_session_factory, messaging_tables
from .db.tables import MessagingTables
from .messaging import Messaging, Subscriptions
from .settings import ServiceSettings
from .web.problems import document_problems, install_problem_handlers, problem

log = logging.getLogger(__name__)


@dataclass
class ServiceRuntime:
    name: str
    settings: ServiceSettings
    engine: Engine
    sessions: sessionmaker[Session]
    tables: MessagingTables
    messaging: Messaging

    @classmethod
    def build(
        cls,
        name: str,
        settings: ServiceSettings,
        metadata: MetaData,
        subscriptions: Subscriptions | None = None,
    ) -> ServiceRuntime:
        engine = make_engine(settings.database_url)
        sessions = make_session_factory(engine)
        tables = messaging_tables(metadata)
        messaging = Messaging(
            service=name, settings=settings, session_factory=sessions, tables=tables, subscriptions=subscriptions
        )
        return cls(name, settings, engine, sessions, tables, messaging)

    @property
    def outbox(self):
        return self.messaging.outbox

    async def start(self) -> None:
        await self.messaging.start()

    async def stop(self) -> None:
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
        return json.loads(spec.to_json())


def create_app(
    runtime: ServiceRuntime,
    routers: Iterable[APIRouter],
    *,
    title: str,
    description: str,
    version: str = "1.0.0",
    on_startup: Iterable[Any] = (),
    public_paths: Iterable[str] = (),
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        tasks = [asyncio.create_task(job()) for job in on_startup]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await runtime.stop()

    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.jwt_secret = runtime.settings.jwt_secret.get_secret_value()
    install_problem_handlers(app)

    @app.get("/healthz", tags=["health"], summary="The process is up.")
    def healthz() -> dict[str, str]:
        return {"status": "up"}

    @app.get("/readyz", tags=["health"], summary="The database and the broker are reachable.")
    async def readyz():
        database = await asyncio.to_thread(runtime.database_ok)
        broker = await runtime.messaging.ping(2.0)
        checks = {"database": "up" if database else "down", "broker": "up" if broker else "down"}
        if database and broker:
            return {"status": "ready", "checks": checks}
        response = problem(503, "Not ready", f"database: {checks['database']}, broker: {checks['broker']}")
        body = json.loads(response.body)
        body["checks"] = checks
        return JSONResponse(body, status_code=503, media_type=response.media_type)

    @app.get("/asyncapi.json", tags=["docs"], summary="AsyncAPI document of this service's events.")
    def asyncapi_json() -> dict[str, Any]:
        return runtime.asyncapi(version)

    @app.get("/asyncapi", tags=["docs"], summary="AsyncAPI document, rendered.", response_class=HTMLResponse)
    def asyncapi_html() -> str:
        spec = AsyncAPI(runtime.messaging.broker, title=f"Cercle {runtime.name} events", version=version)
        return get_asyncapi_html(spec.to_specification(), try_it_out_path=None)

    for router in routers:
        app.include_router(router)
    document_problems(app, public_paths={"/healthz", "/readyz", "/asyncapi.json", "/asyncapi", *public_paths})
    return app
