"""The composition root: settings in, a ready FastAPI application out."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from cercle_shared.service import ServiceRuntime, create_app

from .adapters import orm
from .config import Settings
from .domain.model import now
from .entrypoints.consumers import subscriptions
from .entrypoints.http import ROUTERS
from .service_layer import program
from .service_layer.unit_of_work import SessionsUnitOfWork

log = logging.getLogger(__name__)

NAME = "sessions"
MIGRATIONS = "cercle_sessions:migrations"


def build_runtime(settings: Settings) -> ServiceRuntime:
    orm.start_mappers()
    return ServiceRuntime.build(NAME, settings, orm.metadata, subscriptions())


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = build_runtime(settings)

    def uow_factory() -> SessionsUnitOfWork:
        return SessionsUnitOfWork(runtime.sessions, runtime.outbox)

    async def close_due_votes() -> None:
        while True:
            try:
                closed = await asyncio.to_thread(program.close_due_votes, uow_factory(), app.state.clock())
                if closed:
                    log.info("closed the votes of cycles %s", closed)
            except Exception:  # the database may be briefly away: try again next round
                log.exception("closing due votes failed")
            await asyncio.sleep(settings.vote_close_interval)

    app = create_app(
        runtime,
        ROUTERS,
        title="Cercle — sessions",
        description="A community's program year: theme votes, sessions, registrations and waitlists, attendance, "
        "summary notes, the resource library and calendar feeds.",
        on_startup=[close_due_votes],
        public_paths={"/v1/calendars/{token}.ics"},  # its secret token is in the URL
    )
    app.state.uow_factory = uow_factory
    app.state.clock = now
    app.state.settings = settings
    return app
