"""HTTP bodies of partner subscriptions (grants, endpoints, messages, attempts, the feed)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from cercle_shared.web import StrictModel
from cercle_shared.web.schemas import SaneDateTime, SingleLine

from ..adapters.webhook_client import short_url
from ..domain.partners import Attempt, Endpoint, Grant, Message, MessageStatus

EventPattern = Annotated[str, StringConstraints(min_length=3, max_length=200, pattern=r"^[a-z0-9_.]+\*?$")]
Region = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
CommunityId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
Url = Annotated[str, StringConstraints(min_length=8, max_length=2000, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$")]


class GrantWrite(StrictModel):
    event_types: list[EventPattern] = Field(
        min_length=1,
        max_length=100,
        description="What the organization may see: types or prefixes (`org.cercle.sessions.`, `org.cercle.*`).",
        examples=[["org.cercle.sessions."]],
    )
    regions: list[Region] = Field(default_factory=list, max_length=17, description="Regions; none: every region.")
    communities: list[CommunityId] = Field(default_factory=list, max_length=1000, description="Communities.")
    contact_email: SingleLine | None = Field(
        default=None,
        max_length=320,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="Who is emailed when deliveries fail (at most daily) or an endpoint is disabled.",
        examples=["webhooks@partenaire.example"],
    )


class GrantPublic(BaseModel):
    organization_id: str
    event_types: list[str]
    regions: list[str]
    communities: list[str]
    contact_email: str | None
    updated_at: datetime


class EndpointCreate(StrictModel):
    url: Url = Field(description="https URL that receives the webhooks.", examples=["https://partenaire.example/hooks"])
    description: SingleLine = Field(default="", max_length=500, examples=["Inscriptions de la région 13"])
    event_types: list[EventPattern] = Field(
        min_length=1,
        max_length=100,
        description="Event types: exact (`org.cercle.sessions.session.scheduled.v1`) or prefixes "
        "(`org.cercle.sessions.registration.*`), within the grant.",
        examples=[["org.cercle.sessions.registration.*"]],
    )
    regions: list[Region] = Field(default_factory=list, max_length=17, description="Only these regions (in grant).")
    communities: list[CommunityId] = Field(default_factory=list, max_length=1000, description="Only these.")
    enabled: bool = True


class EndpointUpdate(StrictModel):
    url: Url | None = None
    description: SingleLine | None = Field(default=None, max_length=500)
    event_types: list[EventPattern] | None = Field(default=None, min_length=1, max_length=100)
    regions: list[Region] | None = Field(default=None, max_length=17)
    communities: list[CommunityId] | None = Field(default=None, max_length=1000)
    enabled: bool | None = Field(default=None, description="true re-enables a disabled endpoint.")

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if v is not None}


class EndpointPublic(BaseModel):
    """An endpoint; its secret is never shown again after creation or rotation."""

    id: str
    organization_id: str
    url: str
    description: str
    event_types: list[str]
    regions: list[str]
    communities: list[str]
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointPublic):
    secret: str = Field(
        description="The signing secret (whsec_...): shown this once. Verify with any Standard Webhooks library."
    )


class SecretRotated(BaseModel):
    endpoint_id: str
    secret: str = Field(description="The new secret, shown this once; the previous one also signs for 24 hours.")
    previous_secret_expires_at: datetime | None


class PingResult(BaseModel):
    webhook_id: str
    ok: bool
    status_code: int | None
    latency_ms: float | None
    error: str | None
    response_body: str | None


class MessagePublic(BaseModel):
    id: str
    webhook_id: str = Field(description="The CloudEvent id: the webhook-id header, the same on every try.")
    event_type: str
    status: MessageStatus | str
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    created_at: datetime


class AttemptPublic(BaseModel):
    id: str
    attempted_at: datetime
    outcome: str
    status_code: int | None
    latency_ms: float | None
    response_body: str | None = Field(description="The answer's first 2000 characters.")
    error: str | None
    url: str


class RecoverRequest(StrictModel):
    since: SaneDateTime = Field(description="Resend every message created since then.")


class Recovered(BaseModel):
    resent: int


class EndpointStatsPublic(BaseModel):
    delivered: int
    failed: int
    pending: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    last_success_at: datetime | None


class FeedPage(BaseModel):
    """CloudEvents (structured JSON), oldest first; pass next_cursor as `after` to go on."""

    items: list[dict[str, Any]]
    next_cursor: str | None = Field(description="Pass as `after`; the same cursor again when nothing new came.")


class EventTypePublic(BaseModel):
    type: str
    topic: str
    description: str
    json_schema: dict[str, Any]


def grant_public(grant: Grant) -> GrantPublic:
    return GrantPublic.model_validate(grant, from_attributes=True)


def endpoint_public(endpoint: Endpoint) -> EndpointPublic:
    data = EndpointPublic.model_validate(endpoint, from_attributes=True)
    return data.model_copy(update={"url": short_url(endpoint.url)}) if len(endpoint.url) > 2000 else data


def message_public(message: Message) -> MessagePublic:
    return MessagePublic(
        id=message.id,
        webhook_id=message.event_id,
        event_type=message.event_type,
        status=message.status,
        attempts=message.attempts,
        next_attempt_at=message.next_attempt_at,
        delivered_at=message.delivered_at,
        last_status_code=message.last_status_code,
        created_at=message.created_at,
    )


def attempt_public(attempt: Attempt) -> AttemptPublic:
    return AttemptPublic.model_validate(attempt, from_attributes=True)
