"""Events and set-up shared by the partner webhook tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses

REGISTRATIONS = "org.cercle.sessions.registration.*"


def community_created(community_id: str, *regions: str) -> reg.CommunityCreated:
    return reg.CommunityCreated(
        community_id=community_id,
        name_fr="CoP",
        name_en="CoP",
        kind="community_of_practice",
        regions=list(regions),
        cadence=6,
        status="active",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def registration_confirmed(community_id: str, session_id: str | None = None) -> ses.SessionRegistrationConfirmed:
    return ses.SessionRegistrationConfirmed(
        registration_id=str(uuid.uuid4()),
        session_id=session_id or str(uuid.uuid4()),
        community_id=community_id,
        member_id=str(uuid.uuid4()),
        confirmed_at=datetime(2026, 9, 1, tzinfo=UTC),
    )


def grant(api, organization_id: str, operator: dict, **body) -> None:
    payload = {"event_types": ["org.cercle.sessions."], **body}
    r = api.put(f"/v1/partners/{organization_id}/grant", json=payload, headers=operator)
    assert r.status_code == 200, r.text


def endpoint(api, organization_id: str, headers: dict, url: str, **body) -> dict:
    payload = {"url": url, "event_types": [REGISTRATIONS], **body}
    r = api.post(f"/v1/partners/{organization_id}/endpoints", json=payload, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()
