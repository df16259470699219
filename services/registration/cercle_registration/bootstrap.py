"""The composition root: settings in, a ready FastAPI application out."""

from __future__ import annotations

from fastapi import FastAPI

from cercle_shared.service import ServiceRuntime, create_app

from .adapters import orm
from .config import Settings
from .domain.model import now
from .domain.regions import RegionCatalog
from .entrypoints.consumers import subscriptions
from .entrypoints.jobs import jobs
from .entrypoints.routes import ROUTERS
from .service_layer.unit_of_work import RegistrationUnitOfWork

NAME = "registration"
MIGRATIONS = "cercle_registration:migrations"


def build_runtime(settings: Settings) -> ServiceRuntime:
    orm.start_mappers()
    return ServiceRuntime.build(
        NAME, settings, orm.metadata, unit_of_work=RegistrationUnitOfWork, subscriptions=subscriptions()
    )


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = build_runtime(settings)
    app = create_app(
        runtime,
        ROUTERS,
        title="Cercle — registration",
        description="Members, organizations, communities, memberships, consent and erasure.",
    )
    app.state.clock = now
    app.state.regions = RegionCatalog.from_setting(settings.enabled_regions)
    runtime.schedule(jobs(settings, runtime, lambda: app.state.clock()))
    return app
