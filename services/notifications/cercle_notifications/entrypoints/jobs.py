"""Every timed job of the service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from cercle_shared.jobs import Job
from cercle_shared.service import ServiceRuntime, housekeeping_jobs

from ..adapters.smtp import SmtpMailer
from ..adapters.templates import EmailTemplates
from ..config import Settings
from ..service_layer.sending import DeliverySender, SendingPolicy

SEND_EMAILS = "send-emails"


def delivery_sender(settings: Settings, runtime: ServiceRuntime, clock: Callable[[], datetime]) -> DeliverySender:
    mailer = SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        timeout=settings.smtp_timeout,
    )
    policy = SendingPolicy(
        mail_from=settings.mail_from,
        max_attempts=settings.sender_max_attempts,
        backoff_initial=settings.sender_backoff_initial,
        backoff_max=settings.sender_backoff_max,
        wait_timeout=settings.contact_wait_timeout,
        batch_size=settings.sender_batch_size,
        lease=max(60.0, 3 * settings.smtp_timeout),
    )
    return DeliverySender(runtime.uow, EmailTemplates(), mailer, policy, clock)


def jobs(settings: Settings, runtime: ServiceRuntime, clock: Callable[[], datetime]) -> list[Job]:
    sender = delivery_sender(settings, runtime, clock)

    async def send_emails() -> int:
        due = await asyncio.to_thread(sender.send_due)
        if due >= settings.sender_batch_size:
            runtime.jobs.wake(SEND_EMAILS)  # a full batch: more may be due, so go again at once
        return due

    return [
        *housekeeping_jobs(runtime),
        Job(
            SEND_EMAILS,
            every=settings.sender_poll_interval,
            run=send_emails,
            # a round sends one batch, each conversation bounded by the SMTP timeout
            timeout=settings.sender_batch_size * settings.smtp_timeout + 60,
            description="Send the emails that are due, retry the failed ones, expire those that waited too long.",
        ),
    ]
