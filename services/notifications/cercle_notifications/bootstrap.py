"""The composition root: settings in, a ready FastAPI application out."""

from __future__ import annotations

from fastapi import FastAPI

from cercle_shared.service import ServiceRuntime, create_app

from .adapters import orm, partner_orm
from .config import Settings
from .domain.model import now
from .entrypoints.consumers import subscriptions
from .entrypoints.jobs import jobs, partner_jobs
from .entrypoints.routes import ROUTERS
from .service_layer.unit_of_work import NotificationsUnitOfWork
from .service_layer.webhooks import partner_config

NAME = "notifications"
MIGRATIONS = "cercle_notifications:migrations"


def build_runtime(settings: Settings) -> ServiceRuntime:
    orm.start_mappers()
    partner_orm.start_mappers()
    return ServiceRuntime.build(
        NAME, settings, orm.metadata, unit_of_work=NotificationsUnitOfWork, subscriptions=subscriptions()
    )


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = build_runtime(settings)
    app = create_app(
        runtime,
        ROUTERS,
        title="Cercle — notifications",
        description="Emails to members, in their language, about their session registrations; delivery log and "
        "email preferences.",
    )
    app.state.clock = now
    app.state.partners = partner_config(settings)
    runtime.schedule(
        [
            *jobs(settings, runtime, clock=lambda: app.state.clock()),
            *partner_jobs(settings, runtime, app.state.partners, clock=lambda: app.state.clock()),
        ]
    )
    return app
