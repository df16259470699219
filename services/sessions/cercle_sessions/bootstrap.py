"""The composition root: settings in, a ready FastAPI application out."""

from __future__ import annotations

from fastapi import FastAPI

from cercle_shared.service import ServiceRuntime, create_app

from .adapters import orm
from .config import Settings
from .domain.model import now
from .entrypoints.consumers import subscriptions
from .entrypoints.jobs import jobs
from .entrypoints.routes import ROUTERS
from .entrypoints.throttle import MissThrottle
from .service_layer.unit_of_work import SessionsUnitOfWork

NAME = "sessions"
MIGRATIONS = "cercle_sessions:migrations"


def build_runtime(settings: Settings) -> ServiceRuntime:
    orm.start_mappers()
    return ServiceRuntime.build(
        NAME, settings, orm.metadata, unit_of_work=SessionsUnitOfWork, subscriptions=subscriptions()
    )


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = build_runtime(settings)
    app = create_app(
        runtime,
        ROUTERS,
        title="Cercle — sessions",
        description="A community's program year: theme votes, sessions, registrations and waitlists, attendance, "
        "summary notes, the resource library and calendar feeds.",
        # the secret token in the URL is the credential (DELETE also takes a bearer token, for a feed id)
        public_paths={"/v1/calendars/{token}.ics", "/v1/calendars/{feed}"},
    )
    app.state.clock = now
    app.state.feed_throttle = MissThrottle(
        limit=settings.feed_miss_limit, window=settings.feed_miss_window, max_clients=settings.feed_miss_clients
    )
    runtime.schedule(jobs(settings, runtime, lambda: app.state.clock()))
    return app
