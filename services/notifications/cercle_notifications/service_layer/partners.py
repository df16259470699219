"""Partner organizations' use cases: grants (operators), endpoints and their secrets, replay and recover; and the
reaction that stores every partner-visible event and owes it to each matching endpoint.

Who may do what: operators everything; a partner token only for its own organization (another organization's
resources answer 404, as if they did not exist; a partner token without an organization 403); every other role 403.

Where an event belongs (its Scope), in this order:
1. `region` (member and organization events) and `regions` (community events) in the payload;
2. otherwise its `community_id` (or, failing that, its session's community from the sessions replica), whose
   regions come from the community events this service keeps (partner_community_regions).
A province-wide community has no region: its events reach grants and endpoints without a region filter, or
with that community listed. An event whose place is unknown reaches only grants without region or community.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cercle_shared.contracts import CATALOG, IntegrationEvent
from cercle_shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from cercle_shared.messaging import EventContext
from cercle_shared.principal import Principal, Role

from ..adapters.webhook_client import Refused, SecretBox, UrlGuard, WebhookClient, new_secret
from ..domain.partners import (
    FINAL,
    CommunityRegions,
    Endpoint,
    Grant,
    Message,
    MessageStatus,
    PartnerEvent,
    RetrySchedule,
    Scope,
    new_id,
    type_matches,
)
from .unit_of_work import NotificationsUnitOfWork

PARTNER_TYPES: tuple[str, ...] = tuple(spec.type for spec in CATALOG if spec.partner_visible)


@dataclass(frozen=True)
class PartnerConfig:
    """What partner use cases need besides the unit of work: the secret box, the URL guard, the client."""

    box: SecretBox
    guard: UrlGuard
    client: WebhookClient
    schedule: RetrySchedule


# --- access -----------------------------------------------------------------------------------------------------


def ensure_organization(principal: Principal, organization_id: str) -> None:
    if principal.is_operator:
        return
    if principal.role is not Role.PARTNER:
        raise Forbidden("only partner organizations and operators may use partner subscriptions")
    if not principal.organization_id:
        raise Forbidden("this partner token names no organization")
    if principal.organization_id != organization_id:
        raise NotFound("no such organization")


def ensure_operator(principal: Principal) -> None:
    if not principal.is_operator:
        raise Forbidden("only operators grant partner organizations access to events")


def _endpoint(uow: NotificationsUnitOfWork, organization_id: str, endpoint_id: str, *, lock: bool = False) -> Endpoint:
    endpoint = uow.partners.endpoint(endpoint_id, lock=lock)
    if endpoint is None or endpoint.organization_id != organization_id:
        raise NotFound("no such endpoint", field="endpoint_id")
    return endpoint


def _message(uow: NotificationsUnitOfWork, endpoint: Endpoint, message_id: str, *, lock: bool = False) -> Message:
    message = uow.partners.message(message_id, lock=lock)
    if message is None or message.endpoint_id != endpoint.id:
        raise NotFound("no such message", field="message_id")
    return message


# --- grants -----------------------------------------------------------------------------------------------------


def _check_patterns(patterns: Sequence[str], field: str, grant: Grant | None = None) -> list[str]:
    cleaned = sorted(set(patterns))
    for pattern in cleaned:
        matching = [t for t in PARTNER_TYPES if type_matches(pattern, t)]
        if not matching:
            raise InvalidInput(f"{pattern!r} matches no partner-visible event type", field=field)
        if grant is not None and not any(grant.allows_type(t) for t in matching):
            raise InvalidInput(f"{pattern!r} is outside your grant", field=field)
    return cleaned


@dataclass(frozen=True)
class PutGrant:
    organization_id: str
    event_types: list[str]
    regions: list[str]
    communities: list[str]
    contact_email: str | None


def put_grant(cmd: PutGrant, uow: NotificationsUnitOfWork, principal: Principal, at: datetime) -> Grant:
    ensure_operator(principal)
    event_types = _check_patterns(cmd.event_types, "event_types")
    regions, communities = sorted(set(cmd.regions)), sorted(set(cmd.communities))
    with uow:
        grant = uow.partners.grant(cmd.organization_id)
        if grant is None:
            grant = Grant(cmd.organization_id, event_types, regions, communities, cmd.contact_email, at, at)
            uow.partners.add(grant)
        else:
            grant.change(
                event_types=event_types,
                regions=regions,
                communities=communities,
                contact_email=cmd.contact_email,
                at=at,
            )
        uow.commit()
        return grant


def get_grant(organization_id: str, uow: NotificationsUnitOfWork, principal: Principal) -> Grant:
    ensure_organization(principal, organization_id)
    with uow:
        grant = uow.partners.grant(organization_id)
        if grant is None:
            raise NotFound("this organization has no grant")
        return grant


def revoke_grant(organization_id: str, uow: NotificationsUnitOfWork, principal: Principal, at: datetime) -> None:
    """Deliveries stop at once: what is still owed is cancelled (the sender also checks the grant every time)."""
    ensure_operator(principal)
    with uow:
        grant = uow.partners.grant(organization_id)
        if grant is None:
            raise NotFound("this organization has no grant")
        uow.partners.delete(grant)
        for message in uow.partners.unfinished_of_organization(organization_id):
            message.cancel(at)
        uow.commit()


# --- endpoints --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateEndpoint:
    organization_id: str
    url: str
    description: str
    event_types: list[str]
    regions: list[str]
    communities: list[str]
    enabled: bool = True


def _check_url(guard: UrlGuard, url: str) -> None:
    try:
        guard.check(url)
    except Refused as exc:
        raise InvalidInput(str(exc), field="url") from exc


def _grant_for_endpoints(uow: NotificationsUnitOfWork, organization_id: str) -> Grant:
    grant = uow.partners.grant(organization_id)
    if grant is None:
        raise Conflict("this organization has no grant yet: ask Cercle's operators for one", field="organization_id")
    return grant


def create_endpoint(
    cmd: CreateEndpoint, uow: NotificationsUnitOfWork, principal: Principal, config: PartnerConfig, at: datetime
) -> tuple[Endpoint, str]:
    """The endpoint, and its signing secret: shown this once."""
    ensure_organization(principal, cmd.organization_id)
    _check_url(config.guard, cmd.url)
    with uow:
        grant = _grant_for_endpoints(uow, cmd.organization_id)
        event_types = _check_patterns(cmd.event_types, "event_types", grant)
        grant.check_filters(event_types, cmd.regions, cmd.communities)
        secret = new_secret()
        endpoint = Endpoint(
            id=new_id(),
            organization_id=cmd.organization_id,
            url=cmd.url,
            description=cmd.description,
            event_types=event_types,
            regions=sorted(set(cmd.regions)),
            communities=sorted(set(cmd.communities)),
            enabled=cmd.enabled,
            sealed_secret=config.box.seal(secret),
            created_at=at,
            updated_at=at,
        )
        uow.partners.add(endpoint)
        uow.commit()
        return endpoint, secret


def list_endpoints(organization_id: str, uow: NotificationsUnitOfWork, principal: Principal) -> Sequence[Endpoint]:
    ensure_organization(principal, organization_id)
    with uow:
        return uow.partners.endpoints_of(organization_id)


def get_endpoint(
    organization_id: str, endpoint_id: str, uow: NotificationsUnitOfWork, principal: Principal
) -> Endpoint:
    ensure_organization(principal, organization_id)
    with uow:
        return _endpoint(uow, organization_id, endpoint_id)


@dataclass(frozen=True)
class UpdateEndpoint:
    organization_id: str
    endpoint_id: str
    changes: dict[str, Any]  # only the fields given: url, description, event_types, regions, communities, enabled


def update_endpoint(
    cmd: UpdateEndpoint, uow: NotificationsUnitOfWork, principal: Principal, config: PartnerConfig, at: datetime
) -> Endpoint:
    ensure_organization(principal, cmd.organization_id)
    changes = cmd.changes
    if "url" in changes:
        _check_url(config.guard, changes["url"])
    with uow:
        endpoint = _endpoint(uow, cmd.organization_id, cmd.endpoint_id, lock=True)
        grant = _grant_for_endpoints(uow, cmd.organization_id)
        event_types = _check_patterns(changes.get("event_types", endpoint.event_types), "event_types", grant)
        regions = sorted(set(changes.get("regions", endpoint.regions)))
        communities = sorted(set(changes.get("communities", endpoint.communities)))
        grant.check_filters(event_types, regions, communities)
        endpoint.event_types, endpoint.regions, endpoint.communities = event_types, regions, communities
        if "url" in changes:
            endpoint.url = changes["url"]
        if "description" in changes:
            endpoint.description = changes["description"]
        if changes.get("enabled") is True and not endpoint.enabled:
            endpoint.enable(at)
        elif changes.get("enabled") is False and endpoint.enabled:
            endpoint.disable("disabled by the partner", at)
        endpoint.updated_at = at
        uow.commit()
        return endpoint


def delete_endpoint(
    organization_id: str, endpoint_id: str, uow: NotificationsUnitOfWork, principal: Principal, at: datetime
) -> None:
    ensure_organization(principal, organization_id)
    with uow:
        endpoint = _endpoint(uow, organization_id, endpoint_id, lock=True)
        for message in uow.partners.unfinished_of_endpoint(endpoint.id):
            message.cancel(at)
        uow.partners.delete(endpoint)
        uow.commit()


def rotate_secret(
    organization_id: str,
    endpoint_id: str,
    uow: NotificationsUnitOfWork,
    principal: Principal,
    config: PartnerConfig,
    at: datetime,
) -> tuple[Endpoint, str]:
    """A new secret, shown this once; the previous one still signs (beside it) for 24 hours."""
    ensure_organization(principal, organization_id)
    with uow:
        endpoint = _endpoint(uow, organization_id, endpoint_id, lock=True)
        secret = new_secret()
        endpoint.rotate(config.box.seal(secret), at)
        uow.commit()
        return endpoint, secret


def ping_target(
    organization_id: str,
    endpoint_id: str,
    uow: NotificationsUnitOfWork,
    principal: Principal,
    config: PartnerConfig,
    at: datetime,
) -> tuple[str, list[str]]:
    """The URL and the signing secrets of the endpoint to ping."""
    ensure_organization(principal, organization_id)
    with uow:
        endpoint = _endpoint(uow, organization_id, endpoint_id)
        return endpoint.url, [config.box.open(s) for s in endpoint.sealed_secrets(at)]


# --- replay and recover -----------------------------------------------------------------------------------------


def replay(
    organization_id: str,
    endpoint_id: str,
    message_id: str,
    uow: NotificationsUnitOfWork,
    principal: Principal,
    at: datetime,
) -> Message:
    """Send the message again, with the same webhook-id."""
    ensure_organization(principal, organization_id)
    with uow:
        endpoint = _endpoint(uow, organization_id, endpoint_id)
        message = _message(uow, endpoint, message_id, lock=True)
        if message.status not in FINAL:
            raise Conflict("this message is still being delivered", field="message_id")
        message.resend(at)
        uow.commit()
        return message


def recover(
    organization_id: str,
    endpoint_id: str,
    since: datetime,
    uow: NotificationsUnitOfWork,
    principal: Principal,
    at: datetime,
) -> int:
    """Send again every message of the endpoint created since `since` (those in flight aside); how many."""
    ensure_organization(principal, organization_id)
    with uow:
        endpoint = _endpoint(uow, organization_id, endpoint_id)
        count = 0
        for message in uow.partners.messages_since(endpoint.id, since):
            if message.status in FINAL:
                message.resend(at)
                count += 1
        uow.commit()
        return count


# --- reads ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListMessages:
    organization_id: str
    endpoint_id: str
    status: MessageStatus | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None
    limit: int = 50


def list_messages(
    query: ListMessages, uow: NotificationsUnitOfWork, principal: Principal
) -> tuple[Sequence[Message], str | None]:
    ensure_organization(principal, query.organization_id)
    with uow:
        endpoint = _endpoint(uow, query.organization_id, query.endpoint_id)
        return uow.partners.messages_page(
            endpoint.id,
            status=query.status,
            since=query.since,
            until=query.until,
            cursor=query.cursor,
            limit=query.limit,
        )


def list_attempts(
    organization_id: str,
    endpoint_id: str,
    message_id: str,
    cursor: str | None,
    limit: int,
    uow: NotificationsUnitOfWork,
    principal: Principal,
) -> tuple[Sequence[Any], str | None]:
    ensure_organization(principal, organization_id)
    with uow:
        endpoint = _endpoint(uow, organization_id, endpoint_id)
        message = _message(uow, endpoint, message_id)
        return uow.partners.attempts_page(message.id, cursor=cursor, limit=limit)


@dataclass(frozen=True)
class EndpointStats:
    delivered: int
    failed: int
    pending: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    last_success_at: datetime | None


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[rank]


def endpoint_stats(
    organization_id: str, endpoint_id: str, uow: NotificationsUnitOfWork, principal: Principal
) -> EndpointStats:
    ensure_organization(principal, organization_id)
    with uow:
        endpoint = _endpoint(uow, organization_id, endpoint_id)
        counts = uow.partners.counts(endpoint.id)
        latencies = uow.partners.latencies(endpoint.id)
        return EndpointStats(
            delivered=counts.get(MessageStatus.DELIVERED, 0),
            failed=counts.get(MessageStatus.FAILED, 0),
            pending=counts.get(MessageStatus.PENDING, 0) + counts.get(MessageStatus.SENDING, 0),
            latency_p50_ms=percentile(latencies, 0.5),
            latency_p95_ms=percentile(latencies, 0.95),
            last_success_at=uow.partners.last_success(endpoint.id),
        )


FEED_SCAN = 2000  # rows looked at per page at most, so that a sparse grant cannot make one request scan forever


def feed(
    organization_id: str, after: int, limit: int, uow: NotificationsUnitOfWork, principal: Principal
) -> tuple[list[dict[str, Any]], int | None]:
    """The organization's CloudEvents after position `after`, in order; the position to pass next (None: none
    scanned, come back later with the same one)."""
    ensure_organization(principal, organization_id)
    with uow:
        grant = uow.partners.grant(organization_id)
        if grant is None:
            return [], None
        types = [t for t in PARTNER_TYPES if grant.allows_type(t)]
        items: list[dict[str, Any]] = []
        position: int | None = None
        scanned = 0
        while len(items) < limit and scanned < FEED_SCAN:
            rows = uow.partners.events_after(position if position is not None else after, 200, types)
            if not rows:
                break
            for row in rows:
                scanned += 1
                position = row.seq
                if grant.allows(row.event_type, row.scope):
                    items.append(json.loads(row.body))
                    if len(items) >= limit:
                        break
        return items, position


# --- the reaction -----------------------------------------------------------------------------------------------


def _cloud_event(event: IntegrationEvent, ctx: EventContext) -> dict[str, Any]:
    """The CloudEvent in structured JSON mode, as partners receive it."""
    return {
        "specversion": "1.0",
        "id": ctx.event_id,
        "source": ctx.source,
        "type": ctx.event_type,
        "subject": ctx.key,
        "time": ctx.time.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": event.model_dump(mode="json"),
    }


def scope_of(data: dict[str, Any], uow: NotificationsUnitOfWork) -> Scope:
    regions: set[str] = set()
    if isinstance(data.get("region"), str):
        regions.add(data["region"])
    listed = data.get("regions")
    if isinstance(listed, list):
        regions.update(r for r in listed if isinstance(r, str))
    community_id = data.get("community_id") if isinstance(data.get("community_id"), str) else None
    if community_id is None and isinstance(data.get("session_id"), str):
        session = uow.sessions.get(data["session_id"])
        community_id = session.community_id if session is not None else None
    if community_id is not None and not isinstance(listed, list):
        known = uow.partners.community_regions(community_id)
        if known is not None:
            regions.update(known.regions)
    return Scope(frozenset(regions), community_id)


def record_partner_event(event: IntegrationEvent, uow: NotificationsUnitOfWork, ctx: EventContext) -> None:
    """Store a partner-visible event once, and owe it once to every endpoint whose grant and filters match."""
    if not CATALOG.by_type(ctx.event_type).partner_visible:
        return  # internal topics never reach partners, whatever a grant says
    data = event.model_dump(mode="json")
    if isinstance(data.get("community_id"), str) and isinstance(data.get("regions"), list):
        known = uow.partners.community_regions(data["community_id"])
        province_wide = bool(data.get("province_wide", False))
        if known is None:
            uow.partners.add(CommunityRegions(data["community_id"], list(data["regions"]), province_wide))
        else:
            known.regions, known.province_wide = list(data["regions"]), province_wide
    if uow.partners.event(ctx.event_id) is not None:
        return
    scope = scope_of(data, uow)
    at = ctx.time
    stored = PartnerEvent(
        event_id=ctx.event_id,
        event_type=ctx.event_type,
        time=ctx.time,
        regions=sorted(scope.regions),
        community_id=scope.community_id,
        body=json.dumps(_cloud_event(event, ctx), separators=(",", ":")),  # ASCII: no lone surrogate reaches the DB
        received_at=at,
    )
    uow.partners.add(stored)
    grants: dict[str, Grant | None] = {}
    for endpoint in uow.partners.enabled_endpoints():
        org = endpoint.organization_id
        if org not in grants:
            grants[org] = uow.partners.grant(org)
        grant = grants[org]
        if grant is None or not grant.allows(ctx.event_type, scope) or not endpoint.matches(ctx.event_type, scope):
            continue
        # the event is new here, so no message for it exists yet (a unique constraint guards it too)
        uow.partners.add(Message.owed(endpoint, ctx.event_id, ctx.event_type, at))
