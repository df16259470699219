"""Delivering messages to partners' endpoints, outside any consumer transaction.

The "deliver-webhooks" job (entrypoints/jobs.py) calls `WebhookDispatcher.deliver_due` a few times a second.
Each message goes through two short transactions around its HTTP request:
1. claim it (FOR UPDATE SKIP LOCKED, status `sending`, a claim token and a lease): two instances never send the
   same attempt; an endpoint never has more than `per_endpoint` requests in flight from one instance;
2. record the attempt and its outcome, if the claim is still ours: delivered; or pending again at the next time
   of the schedule (later if the endpoint said Retry-After); or failed after the last one, or at once on 410 Gone,
   which also disables the endpoint.
An instance that dies between the two (SIGKILL) leaves a `sending` row whose lease runs out: another round sends
it again, with the same webhook-id, so the partner can tell it is the same message (at least once).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from ..adapters.webhook_client import Outcome, SecretBox, UrlGuard, WebhookClient, short_url
from ..config import Settings
from ..domain.partners import PING_TYPE, Attempt, AttemptOutcome, PartnerNotice, RetrySchedule, new_id
from .partners import PartnerConfig
from .unit_of_work import NotificationsUnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimed:
    message_id: str
    claim: str
    endpoint_id: str
    url: str
    event_id: str
    body: str
    secrets: list[str]


@dataclass(frozen=True)
class DeliveryPolicy:
    batch_size: int = 100
    per_endpoint: int = 4
    lease: float = 60.0
    round_wait: float = 2.0  # a round waits this long for its requests; slower ones finish in the background


class WebhookDispatcher:
    def __init__(
        self,
        uow: Callable[[], NotificationsUnitOfWork],
        config: PartnerConfig,
        policy: DeliveryPolicy,
        clock: Callable[[], datetime],
    ) -> None:
        self._uow, self._config, self._policy, self._clock = uow, config, policy, clock
        self._in_flight: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()

    async def deliver_due(self) -> int:
        """Claim what is due and send it; as requests finish, claim more, for up to `round_wait` seconds (requests
        still running then finish in the background, their endpoint's slots held until they do)."""
        total = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._policy.round_wait
        while True:
            busy = {endpoint: n for endpoint, n in self._in_flight.items() if n > 0}
            claimed = await asyncio.to_thread(self._claim, busy)
            for item in claimed:
                self._in_flight[item.endpoint_id] += 1
                task = asyncio.create_task(self._deliver(item))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            total += len(claimed)
            remaining = deadline - loop.time()
            if not self._tasks or remaining <= 0 or total >= self._policy.batch_size:
                return total
            done, _ = await asyncio.wait(list(self._tasks), timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            if not done and not claimed:
                return total

    async def drain(self) -> None:
        """Wait for every request in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    def _claim(self, busy: dict[str, int]) -> list[Claimed]:
        at = self._clock()
        policy = self._policy
        out: list[Claimed] = []
        with self._uow() as uow:
            for endpoint_id in uow.partners.due_endpoints(at, policy.batch_size):
                free = policy.per_endpoint - busy.get(endpoint_id, 0)
                if free <= 0:
                    continue
                endpoint = uow.partners.endpoint(endpoint_id)
                grants = {}
                for message in uow.partners.claim_due(at, endpoint_id, free):
                    event = uow.partners.event(message.event_id)
                    org = message.organization_id
                    if org not in grants:
                        grants[org] = uow.partners.grant(org)
                    grant = grants[org]
                    if (
                        endpoint is None
                        or not endpoint.enabled
                        or event is None
                        or grant is None
                        or not grant.allows(message.event_type, event.scope)
                    ):
                        message.cancel(at)  # revoked, disabled or deleted since: never more than the grant
                        continue
                    try:
                        secrets = [self._config.box.open(s) for s in endpoint.sealed_secrets(at)]
                    except Exception:  # sealed with another key (CERCLE_WEBHOOK_SECRET_KEY changed): skip, say so
                        log.error("webhooks: the secret of endpoint %s cannot be opened with this key", endpoint.id)
                        break
                    claim = new_id()
                    message.take(claim, at + timedelta(seconds=policy.lease), at)
                    out.append(
                        Claimed(message.id, claim, endpoint.id, endpoint.url, event.event_id, event.body, secrets)
                    )
            uow.commit()
        return out

    async def _deliver(self, item: Claimed) -> None:
        try:
            outcome = await self._config.client.post(
                item.url, msg_id=item.event_id, body=item.body, secrets_=item.secrets
            )
            await asyncio.to_thread(self._record, item, outcome)
        except Exception:  # the database may be briefly away: the lease runs out and the message is sent again
            log.exception("webhooks: delivering message %s failed", item.message_id)
        finally:
            self._in_flight[item.endpoint_id] -= 1

    def _record(self, item: Claimed, outcome: Outcome) -> None:
        at = self._clock()
        with self._uow() as uow:
            attempt = Attempt(
                id=new_id(),
                message_id=item.message_id,
                endpoint_id=item.endpoint_id,
                attempted_at=at,
                outcome=AttemptOutcome.SUCCESS
                if outcome.ok
                else (AttemptOutcome.REFUSED if outcome.refused else AttemptOutcome.FAILURE),
                status_code=outcome.status_code,
                latency_ms=outcome.latency_ms,
                response_body=outcome.body,
                error=outcome.error,
                url=short_url(item.url),
            )
            uow.partners.add(attempt)
            message = uow.partners.message(item.message_id, lock=True)
            if message is None or message.claim != item.claim:
                uow.commit()  # another instance took it over after our lease ran out: the log still shows the try
                return
            if outcome.ok:
                message.delivered(outcome.status_code or 200, at)
                endpoint = uow.partners.endpoint(item.endpoint_id)
                if endpoint is not None and endpoint.failing_since is not None:  # lock it only when it changes
                    endpoint = uow.partners.endpoint(item.endpoint_id, lock=True)
                    if endpoint is not None:
                        endpoint.succeeded()
                uow.commit()
                return
            endpoint = uow.partners.endpoint(item.endpoint_id, lock=True)
            grant = uow.partners.grant(message.organization_id)
            gone = outcome.status_code == 410
            failed = message.not_delivered(
                outcome.status_code, at, self._config.schedule, retry_after=outcome.retry_after, final=gone
            )
            contact = grant.contact_email if grant is not None else None
            if endpoint is not None:
                if gone and endpoint.enabled:
                    endpoint.disable("the endpoint answered 410 Gone", at)
                    self._notice(uow, endpoint.organization_id, contact, _disabled_text(endpoint.url, "410 Gone"), at)
                elif endpoint.failed(at):
                    self._notice(uow, endpoint.organization_id, contact, _disabled_text(endpoint.url, "5 days"), at)
                elif failed and endpoint.may_email_failure(at):
                    self._notice(uow, endpoint.organization_id, contact, _failed_text(endpoint.url), at)
            uow.commit()

    @staticmethod
    def _notice(
        uow: NotificationsUnitOfWork, organization_id: str, contact: str | None, text: tuple[str, str], at: datetime
    ) -> None:
        if contact:
            subject, body = text
            uow.partners.add(PartnerNotice(new_id(), organization_id, contact, subject, body, at))


async def ping(config: PartnerConfig, url: str, secrets: list[str]) -> tuple[str, Outcome]:
    """Send a signed org.cercle.webhook.ping.v1 now and say how it went (not retried, not logged)."""
    event_id = f"ping_{new_id()}"
    body = json.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": "/cercle/notifications",
            "type": PING_TYPE,
            "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json",
            "data": {"message": "Ceci est un test de Cercle. / This is a test from Cercle."},
        },
        separators=(",", ":"),
    )
    return event_id, await config.client.post(url, msg_id=event_id, body=body, secrets_=secrets)


def partner_config(settings: Settings) -> PartnerConfig:
    """The secret box, the URL guard and the HTTP client, from the service's settings."""
    key = settings.webhook_secret_key or settings.jwt_secret
    guard = UrlGuard(settings.webhook_allow_hosts.split(","))
    client = WebhookClient(guard, connect_timeout=settings.webhook_connect_timeout, timeout=settings.webhook_timeout)
    delays = tuple(float(d) for d in settings.webhook_retry_schedule.split(",") if d.strip())
    return PartnerConfig(SecretBox(key.get_secret_value().encode()), guard, client, RetrySchedule(delays))


def _failed_text(url: str) -> tuple[str, str]:
    return (
        "Cercle : des webhooks n'ont pas pu être livrés / Cercle: webhooks could not be delivered",
        f"Des messages n'ont pas pu être livrés à votre point de terminaison {short_url(url)} après toutes les "
        "tentatives. Consultez le journal de livraison, corrigez le point de terminaison, puis utilisez « recover ».\n"
        "(Au plus un courriel par jour.)\n\n"
        f"Messages could not be delivered to your endpoint {short_url(url)} after every attempt. Read the delivery "
        "log, fix the endpoint, then use recover.\n(At most one email a day.)\n",
    )


def _disabled_text(url: str, why: str) -> tuple[str, str]:
    return (
        "Cercle : point de terminaison désactivé / Cercle: endpoint disabled",
        f"Votre point de terminaison {short_url(url)} a été désactivé ({why}). Réactivez-le (PATCH enabled=true) "
        "une fois corrigé, puis utilisez « recover ».\n\n"
        f"Your endpoint {short_url(url)} was disabled ({why}). Enable it again (PATCH enabled=true) once fixed, "
        "then use recover.\n",
    )


class NoticeSender:
    """Sends partner notices (failure emails) with the service's SMTP mailer; called from the webhooks job."""

    def __init__(
        self, uow: Callable[[], NotificationsUnitOfWork], send: Callable[[EmailMessage], None], mail_from: str
    ) -> None:
        self._uow, self._send, self._from = uow, send, mail_from

    def send_due(self, at: datetime, limit: int = 20) -> int:
        sent = 0
        with self._uow() as uow:
            for notice in uow.partners.unsent_notices(limit):
                message = EmailMessage()
                message["From"], message["To"], message["Subject"] = self._from, notice.recipient, notice.subject
                message.set_content(notice.body)
                notice.attempts += 1
                try:
                    self._send(message)
                except Exception as exc:  # the next round tries again (10 times at most)
                    notice.last_error = f"{type(exc).__name__}: {exc}"[:500]
                    continue
                notice.sent_at = at
                sent += 1
            uow.commit()
        return sent
