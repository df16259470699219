"""The composition root: settings in, a ready FastAPI application out."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI

from cercle_shared.service import ServiceRuntime, create_app

from .adapters import orm
from .config import Settings
from .entrypoints.consumers import subscriptions
from .entrypoints.jobs import jobs
from .entrypoints.routes import ROUTERS
from .service_layer.unit_of_work import InsightsUnitOfWork

NAME = "insights"
MIGRATIONS = "cercle_insights:migrations"


def now() -> datetime:
    return datetime.now(UTC)


def build_runtime(settings: Settings) -> ServiceRuntime:
    orm.start_mappers()
    return ServiceRuntime.build(
        NAME,
        settings,
        orm.metadata,
        unit_of_work=InsightsUnitOfWork,
        subscriptions=subscriptions(),
    )


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = build_runtime(settings)
    app = create_app(
        runtime,
        ROUTERS,
        title="Cercle — insights",
        description="Aggregate indicators of communities and regions, projected from the other services' events. "
        "Counts only: no member-level data.",
    )
    app.state.clock = now
    runtime.schedule(jobs(settings, runtime, lambda: app.state.clock()))
    return app
