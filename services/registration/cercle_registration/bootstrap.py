"""The composition root: settings in, a ready FastAPI application out."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from cercle_shared.service import ServiceRuntime, create_app

from .adapters import orm
from .adapters.oidc import OidcVerifier
from .config import Settings
from .domain.model import now
from .domain.regions import RegionCatalog
from .entrypoints.consumers import subscriptions
from .entrypoints.jobs import jobs
from .entrypoints.routes import ROUTERS
from .entrypoints.routes.auth import router as auth_router
from .service_layer.sign_in import Policy
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
        description="Members, organizations, communities, memberships, consent and erasure; sign-in.",
        public_paths={route.path for route in auth_router.routes},  # public by nature, bounded by rate limits
    )
    app.state.sign_in = sign_in_policy(settings)
    app.state.oidc = (
        OidcVerifier(
            settings.oidc_issuer,
            settings.oidc_audience or "",
            cache_seconds=settings.oidc_jwks_cache,
            timeout=settings.oidc_timeout,
            refetch_cooldown=settings.oidc_jwks_cooldown,
        )
        if settings.oidc_issuer
        else None
    )
    app.state.clock = now
    app.state.regions = RegionCatalog.from_setting(settings.enabled_regions)
    runtime.schedule(jobs(settings, runtime, lambda: app.state.clock()))
    return app


def sign_in_policy(settings: Settings) -> Policy:
    return Policy(
        jwt_secret=settings.jwt_secret.get_secret_value(),
        link_base=settings.sign_in_url or f"http://{settings.http_host}:{settings.http_port}/v1/auth/callback?code=",
        code_ttl=timedelta(seconds=settings.sign_in_code_ttl),
        access_ttl=timedelta(seconds=settings.access_token_ttl),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl),
        window=timedelta(seconds=settings.sign_in_rate_window),
        links_per_email=settings.sign_in_links_per_email,
        links_per_address=settings.sign_in_links_per_address,
        tokens_per_address=settings.sign_in_tokens_per_address,
    )
