"""Every timed job of the service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.event import listen
from sqlalchemy.orm import Session

from cercle_shared.jobs import Job
from cercle_shared.service import ServiceRuntime, housekeeping_jobs

from ..adapters.smtp import SmtpMailer
from ..adapters.templates import EmailTemplates
from ..config import Settings
from ..domain.model import Delivery, DeliveryStatus, EmailKind
from ..service_layer import announcements, digests, insights_messages, reminders, unsubscribe
from ..service_layer.sending import DeliverySender, SendingPolicy
from ..service_layer.timed import TimedDispatcher
from ..service_layer.webhooks import DeliveryPolicy, NoticeSender, PartnerConfig, WebhookDispatcher

SEND_EMAILS = "send-emails"
HAND_OVER_TIMED = "hand-over-timed-messages"
SEND_DIGESTS = "send-digests"


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
    composers = {
        **reminders.COMPOSERS,
        **insights_messages.COMPOSERS,
        **announcements.composers(settings.public_sessions_url),
        EmailKind.WEEKLY_DIGEST: digests.compose_digest(settings.public_sessions_url),
    }
    return DeliverySender(
        runtime.uow,
        EmailTemplates(),
        mailer,
        policy,
        clock,
        composers=composers,
        unsubscribe=unsubscribe.links_for(settings),
    )


def wake_sender_on_commit(runtime: ServiceRuntime, clock: Callable[[], datetime]) -> None:
    """A transaction that makes an email due (a reaction queued it, or released one that waited) wakes the sender
    once it commits, instead of leaving it to the sender's next poll."""

    def before_flush(db: Session, _context: object, _instances: object) -> None:
        for obj in (*db.new, *db.dirty):
            if (
                isinstance(obj, Delivery)
                and obj.status == DeliveryStatus.PENDING
                and obj.attempts == 0  # not a retry: those wait for their time
                and (obj.next_attempt_at is None or obj.next_attempt_at <= clock())
            ):
                db.info[SEND_EMAILS] = True
                return

    def after_commit(db: Session) -> None:
        if db.info.pop(SEND_EMAILS, False):
            runtime.jobs.wake(SEND_EMAILS)  # thread-safe: reactions commit in worker threads

    def after_rollback(db: Session) -> None:
        db.info.pop(SEND_EMAILS, None)

    listen(runtime.db_factory, "before_flush", before_flush)
    listen(runtime.db_factory, "after_commit", after_commit)
    listen(runtime.db_factory, "after_rollback", after_rollback)


def jobs(settings: Settings, runtime: ServiceRuntime, clock: Callable[[], datetime]) -> list[Job]:
    sender = delivery_sender(settings, runtime, clock)
    wake_sender_on_commit(runtime, clock)

    async def send_emails() -> int:
        due = await asyncio.to_thread(sender.send_due)
        if due >= settings.sender_batch_size:
            runtime.jobs.wake(SEND_EMAILS)  # a full batch: more may be due, so go again at once
        return due

    dispatcher = TimedDispatcher(runtime.uow, clock, batch_size=settings.timed_batch_size)

    async def hand_over_timed() -> int:
        result = await asyncio.to_thread(dispatcher.run)
        if result.handed_over:
            runtime.jobs.wake(SEND_EMAILS)  # their emails are due now
        return result.due

    async def send_digests() -> int:
        owed = await asyncio.to_thread(digests.owe_digests, runtime.uow(), clock(), settings.digest_hour)
        if owed:
            runtime.jobs.wake(SEND_EMAILS)
        return owed

    return [
        *housekeeping_jobs(runtime),
        Job(
            SEND_DIGESTS,
            every=settings.digest_poll_interval,
            run=send_digests,
            timeout=600,
            description="Owe each member her weekly digest on her day (once per week; none when nothing is new).",
        ),
        Job(
            HAND_OVER_TIMED,
            every=settings.timed_poll_interval,
            run=hand_over_timed,
            timeout=300,
            description="Hand the timed messages that are due (reminders, facilitator briefs...) to the sender, once "
            "each; skip those whose moment has passed.",
        ),
        Job(
            SEND_EMAILS,
            every=settings.sender_poll_interval,
            run=send_emails,
            # a round sends one batch, each conversation bounded by the SMTP timeout
            timeout=settings.sender_batch_size * settings.smtp_timeout + 60,
            description="Send the emails that are due, retry the failed ones, expire those that waited too long.",
        ),
    ]


DELIVER_WEBHOOKS = "deliver-webhooks"


def partner_jobs(
    settings: Settings, runtime: ServiceRuntime, config: PartnerConfig, clock: Callable[[], datetime]
) -> list[Job]:
    """Partner webhooks (issue 9): deliver what is due; email partners' contacts about failures."""
    policy = DeliveryPolicy(
        batch_size=settings.webhook_batch_size,
        per_endpoint=settings.webhook_endpoint_concurrency,
        lease=max(settings.webhook_lease, settings.webhook_timeout + 5),
    )
    dispatcher = WebhookDispatcher(runtime.uow, config, policy, clock)
    smtp = SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        timeout=settings.smtp_timeout,
    )
    notices = NoticeSender(runtime.uow, smtp.send, settings.mail_from)

    async def deliver_webhooks() -> int:
        claimed = await dispatcher.deliver_due()
        if claimed >= settings.webhook_batch_size:
            runtime.jobs.wake(DELIVER_WEBHOOKS)  # a full batch: more may be due
        await asyncio.to_thread(notices.send_due, clock())
        return claimed

    return [
        Job(
            DELIVER_WEBHOOKS,
            every=settings.webhook_poll_interval,
            run=deliver_webhooks,
            timeout=settings.webhook_timeout * 2 + 60,
            description="Send partner webhooks that are due (claimed, signed, retried on the schedule); email a "
            "partner's contact about failures at most once a day.",
        )
    ]
