"""The composition root: settings in, a ready FastAPI application out."""

from __future__ import annotations

from fastapi import FastAPI

from cercle_shared.service import ServiceRuntime, create_app

from .adapters import orm
from .adapters.smtp import SmtpMailer
from .adapters.templates import EmailTemplates
from .config import Settings
from .entrypoints.consumers import subscriptions
from .entrypoints.http import ROUTERS
from .service_layer.sender import DeliverySender, SenderPolicy
from .service_layer.unit_of_work import NotificationsUnitOfWork

NAME = "notifications"
MIGRATIONS = "cercle_notifications:migrations"


def build_runtime(settings: Settings) -> ServiceRuntime:
    orm.start_mappers()
    return ServiceRuntime.build(NAME, settings, orm.metadata, subscriptions())


def build_sender(settings: Settings, runtime: ServiceRuntime) -> DeliverySender:
    mailer = SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        timeout=settings.smtp_timeout,
    )
    policy = SenderPolicy(
        mail_from=settings.mail_from,
        max_attempts=settings.sender_max_attempts,
        backoff_initial=settings.sender_backoff_initial,
        backoff_max=settings.sender_backoff_max,
        wait_timeout=settings.contact_wait_timeout,
        batch_size=settings.sender_batch_size,
        poll_interval=settings.sender_poll_interval,
        lease=max(60.0, 3 * settings.smtp_timeout),
    )
    return DeliverySender(
        lambda: NotificationsUnitOfWork(runtime.sessions, runtime.outbox), EmailTemplates(), mailer, policy
    )


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = build_runtime(settings)
    sender = build_sender(settings, runtime)
    app = create_app(
        runtime,
        ROUTERS,
        title="Cercle — notifications",
        description="Emails to members, in their language, about their session registrations; delivery log and "
        "email preferences.",
        on_startup=[sender.run],
    )
    app.state.uow_factory = lambda: NotificationsUnitOfWork(runtime.sessions, runtime.outbox)
    app.state.sender = sender
    return app
