"""Partner organizations: grants (operators), webhook endpoints, delivery log, replay, the pull feed."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from cercle_shared.contracts import CATALOG
from cercle_shared.errors import InvalidInput
from cercle_shared.pagination import decode_cursor, encode_cursor
from cercle_shared.web.pagination import Page

from ...domain.partners import MessageStatus
from ...service_layer import partners
from ...service_layer.partners import PartnerConfig
from ...service_layer.webhooks import ping
from .. import partner_schemas as s
from ..deps import ClockDep, PrincipalDep, UowDep
from ..paths import EndpointId, MessageId, OrganizationId

router = APIRouter(prefix="/v1/partners", tags=["partners"])

Cursor = Annotated[str | None, Query(max_length=500)]
Limit = Annotated[int, Query(ge=1, le=200)]


def _config(request: Request) -> PartnerConfig:
    config: PartnerConfig = request.app.state.partners
    return config


@router.get("/event-types", response_model=list[s.EventTypePublic])
def event_types(principal: PrincipalDep) -> list[s.EventTypePublic]:
    """The event types partners may subscribe to, each with its JSON Schema (partners and operators)."""
    if not principal.is_operator:
        partners.ensure_organization(principal, principal.organization_id or "")
    return [
        s.EventTypePublic(
            type=spec.type, topic=spec.topic.name, description=spec.topic.description, json_schema=spec.json_schema()
        )
        for spec in CATALOG
        if spec.partner_visible
    ]


@router.put("/{organization_id}/grant", response_model=s.GrantPublic)
def put_grant(organization_id: OrganizationId, body: s.GrantWrite, principal: PrincipalDep, uow: UowDep, now: ClockDep):
    """Grant an organization what it may see: event types or prefixes, regions, communities (operators)."""
    cmd = partners.PutGrant(organization_id, body.event_types, body.regions, body.communities, body.contact_email)
    return s.grant_public(partners.put_grant(cmd, uow, principal, now))


@router.get("/{organization_id}/grant", response_model=s.GrantPublic)
def get_grant(organization_id: OrganizationId, principal: PrincipalDep, uow: UowDep):
    """What the organization may see."""
    return s.grant_public(partners.get_grant(organization_id, uow, principal))


@router.delete("/{organization_id}/grant", status_code=204)
def revoke_grant(organization_id: OrganizationId, principal: PrincipalDep, uow: UowDep, now: ClockDep) -> Response:
    """Revoke the grant: deliveries stop at once (operators)."""
    partners.revoke_grant(organization_id, uow, principal, now)
    return Response(status_code=204)


@router.post("/{organization_id}/endpoints", response_model=s.EndpointCreated, status_code=201)
def create_endpoint(
    organization_id: OrganizationId,
    body: s.EndpointCreate,
    request: Request,
    principal: PrincipalDep,
    uow: UowDep,
    now: ClockDep,
):
    """Create a webhook endpoint; its signing secret is in this answer only."""
    cmd = partners.CreateEndpoint(
        organization_id, body.url, body.description, body.event_types, body.regions, body.communities, body.enabled
    )
    endpoint, secret = partners.create_endpoint(cmd, uow, principal, _config(request), now)
    return s.EndpointCreated(**s.endpoint_public(endpoint).model_dump(), secret=secret)


@router.get("/{organization_id}/endpoints", response_model=list[s.EndpointPublic])
def list_endpoints(organization_id: OrganizationId, principal: PrincipalDep, uow: UowDep):
    """The organization's endpoints."""
    return [s.endpoint_public(e) for e in partners.list_endpoints(organization_id, uow, principal)]


@router.get("/{organization_id}/endpoints/{endpoint_id}", response_model=s.EndpointPublic)
def get_endpoint(organization_id: OrganizationId, endpoint_id: EndpointId, principal: PrincipalDep, uow: UowDep):
    """One endpoint (never its secret)."""
    return s.endpoint_public(partners.get_endpoint(organization_id, endpoint_id, uow, principal))


@router.patch("/{organization_id}/endpoints/{endpoint_id}", response_model=s.EndpointPublic)
def update_endpoint(
    organization_id: OrganizationId,
    endpoint_id: EndpointId,
    body: s.EndpointUpdate,
    request: Request,
    principal: PrincipalDep,
    uow: UowDep,
    now: ClockDep,
):
    """Change an endpoint's URL, description, filters; enable or disable it."""
    cmd = partners.UpdateEndpoint(organization_id, endpoint_id, body.changes())
    return s.endpoint_public(partners.update_endpoint(cmd, uow, principal, _config(request), now))


@router.delete("/{organization_id}/endpoints/{endpoint_id}", status_code=204)
def delete_endpoint(
    organization_id: OrganizationId, endpoint_id: EndpointId, principal: PrincipalDep, uow: UowDep, now: ClockDep
) -> Response:
    """Delete an endpoint; what it was still owed is cancelled."""
    partners.delete_endpoint(organization_id, endpoint_id, uow, principal, now)
    return Response(status_code=204)


@router.post("/{organization_id}/endpoints/{endpoint_id}/secret/rotate", response_model=s.SecretRotated)
def rotate_secret(
    organization_id: OrganizationId,
    endpoint_id: EndpointId,
    request: Request,
    principal: PrincipalDep,
    uow: UowDep,
    now: ClockDep,
):
    """Issue a new signing secret (shown once); both sign for 24 hours."""
    endpoint, secret = partners.rotate_secret(organization_id, endpoint_id, uow, principal, _config(request), now)
    return s.SecretRotated(
        endpoint_id=endpoint.id, secret=secret, previous_secret_expires_at=endpoint.previous_secret_expires_at
    )


@router.post("/{organization_id}/endpoints/{endpoint_id}/test", response_model=s.PingResult)
async def test_endpoint(
    organization_id: OrganizationId,
    endpoint_id: EndpointId,
    request: Request,
    principal: PrincipalDep,
    uow: UowDep,
    now: ClockDep,
):
    """Send a signed org.cercle.webhook.ping.v1 now and report the outcome."""
    config = _config(request)
    url, secrets = await asyncio.to_thread(
        partners.ping_target, organization_id, endpoint_id, uow, principal, config, now
    )
    webhook_id, outcome = await ping(config, url, secrets)
    return s.PingResult(
        webhook_id=webhook_id,
        ok=outcome.ok,
        status_code=outcome.status_code,
        latency_ms=outcome.latency_ms,
        error=outcome.error,
        response_body=outcome.body,
    )


@router.get("/{organization_id}/endpoints/{endpoint_id}/messages", response_model=Page[s.MessagePublic])
def list_messages(
    organization_id: OrganizationId,
    endpoint_id: EndpointId,
    principal: PrincipalDep,
    uow: UowDep,
    status: Annotated[MessageStatus | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="Created at or after.")] = None,
    until: Annotated[datetime | None, Query(description="Created before.")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
):
    """The endpoint's messages, newest first, by status and time."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput("give a time zone offset (e.g. Z)", field=name)
    query = partners.ListMessages(organization_id, endpoint_id, status, since, until, cursor, limit)
    items, next_cursor = partners.list_messages(query, uow, principal)
    return Page[s.MessagePublic](items=[s.message_public(m) for m in items], next_cursor=next_cursor)


@router.get(
    "/{organization_id}/endpoints/{endpoint_id}/messages/{message_id}/attempts", response_model=Page[s.AttemptPublic]
)
def list_attempts(
    organization_id: OrganizationId,
    endpoint_id: EndpointId,
    message_id: MessageId,
    principal: PrincipalDep,
    uow: UowDep,
    cursor: Cursor = None,
    limit: Limit = 50,
):
    """Every try of one message, oldest first: time, response code, latency, the answer's start."""
    items, next_cursor = partners.list_attempts(organization_id, endpoint_id, message_id, cursor, limit, uow, principal)
    return Page[s.AttemptPublic](items=[s.attempt_public(a) for a in items], next_cursor=next_cursor)


@router.post(
    "/{organization_id}/endpoints/{endpoint_id}/messages/{message_id}/replay",
    response_model=s.MessagePublic,
    status_code=202,
)
def replay(
    organization_id: OrganizationId,
    endpoint_id: EndpointId,
    message_id: MessageId,
    principal: PrincipalDep,
    uow: UowDep,
    now: ClockDep,
):
    """Send one message again, with the same webhook-id."""
    return s.message_public(partners.replay(organization_id, endpoint_id, message_id, uow, principal, now))


@router.post("/{organization_id}/endpoints/{endpoint_id}/recover", response_model=s.Recovered, status_code=202)
def recover(
    organization_id: OrganizationId,
    endpoint_id: EndpointId,
    body: s.RecoverRequest,
    principal: PrincipalDep,
    uow: UowDep,
    now: ClockDep,
):
    """Send again every message since a time (those in flight aside), with their webhook-ids."""
    return s.Recovered(resent=partners.recover(organization_id, endpoint_id, body.since, uow, principal, now))


@router.get("/{organization_id}/endpoints/{endpoint_id}/stats", response_model=s.EndpointStatsPublic)
def endpoint_stats(organization_id: OrganizationId, endpoint_id: EndpointId, principal: PrincipalDep, uow: UowDep):
    """Delivered, failed, pending; p50/p95 latency of successes; last success."""
    stats = partners.endpoint_stats(organization_id, endpoint_id, uow, principal)
    return s.EndpointStatsPublic(**stats.__dict__)


@router.get("/{organization_id}/events", response_model=s.FeedPage)
def feed(
    organization_id: OrganizationId,
    principal: PrincipalDep,
    uow: UowDep,
    after: Annotated[str | None, Query(max_length=500, description="A next_cursor from the previous page.")] = None,
    limit: Limit = 100,
):
    """The pull feed: the organization's events in order, as the webhooks would carry them."""
    position = _feed_position(after)
    items, last = partners.feed(organization_id, position, limit, uow, principal)
    following = last if last is not None else position
    return s.FeedPage(items=items, next_cursor=encode_cursor(following, following))


def _feed_position(after: str | None) -> int:
    if not after:
        return 0
    try:
        value, row_id = decode_cursor(after)
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, field="after") from exc
    if not isinstance(value, int) or isinstance(value, bool) or value != row_id or value < 0:
        raise InvalidInput("malformed cursor: pass back a next_cursor exactly as received", field="after")
    return value
