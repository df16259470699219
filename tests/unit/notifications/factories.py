"""Events as the other services publish them, for the notifications tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from cercle_shared.contracts import registration as reg_events
from cercle_shared.contracts import sessions as session_events

STARTS = datetime(2026, 3, 3, 18, 30, tzinfo=UTC)  # 13 h 30 in Montréal (EST)
ENDS = datetime(2026, 3, 3, 21, 0, tzinfo=UTC)


def contact_changed(
    member_id: str,
    *,
    email: str = "marie@example.org",
    language: str = "fr",
    email_consent: bool = True,
    name: str = "Marie Tremblay",
    updated_at: datetime | None = None,
) -> reg_events.MemberContactChanged:
    return reg_events.MemberContactChanged(
        member_id=member_id,
        email=email,
        display_name=name,
        language=language,
        consents={"processing": True, "email": email_consent},
        updated_at=updated_at or datetime.now(UTC),
    )


def session_scheduled(
    session_id: str,
    *,
    community_id: str = "c-1",
    title: str = "Nature et santé mentale",
    mode: str = "in_person",
    location: str | None = "Maison du citoyen, Laval",
) -> session_events.SessionScheduled:
    return session_events.SessionScheduled(
        session_id=session_id,
        community_id=community_id,
        title=title,
        starts_at=STARTS,
        ends_at=ENDS,
        timezone="America/Toronto",
        mode=mode,
        location=location,
        capacity=20,
    )


def confirmed(
    member_id: str, session_id: str, community_id: str = "c-1"
) -> session_events.SessionRegistrationConfirmed:
    return session_events.SessionRegistrationConfirmed(
        registration_id=str(uuid.uuid4()),
        session_id=session_id,
        community_id=community_id,
        member_id=member_id,
        confirmed_at=datetime.now(UTC),
    )


def waitlisted(member_id: str, session_id: str, position: int = 2) -> session_events.SessionRegistrationWaitlisted:
    return session_events.SessionRegistrationWaitlisted(
        registration_id=str(uuid.uuid4()),
        session_id=session_id,
        community_id="c-1",
        member_id=member_id,
        position=position,
        waitlisted_at=datetime.now(UTC),
    )


def new_id() -> str:
    return str(uuid.uuid4())


def rescheduled(
    session_id: str,
    *,
    starts_at: datetime = STARTS,
    ends_at: datetime = ENDS,
    capacity: int = 20,
    location: str | None = "Maison du citoyen, Laval",
) -> session_events.SessionRescheduled:
    return session_events.SessionRescheduled(
        session_id=session_id,
        community_id="c-1",
        title="Nature et santé mentale",
        starts_at=starts_at,
        ends_at=ends_at,
        timezone="America/Toronto",
        mode="in_person",
        location=location,
        capacity=capacity,
        sequence=1,
        rescheduled_at=datetime.now(UTC),
    )


def session_cancelled(session_id: str, reason: str | None = None) -> session_events.SessionCancelled:
    return session_events.SessionCancelled(
        session_id=session_id, community_id="c-1", reason=reason, cancelled_at=datetime.now(UTC)
    )


def promoted(member_id: str, session_id: str, registration_id: str) -> session_events.SessionRegistrationPromoted:
    return session_events.SessionRegistrationPromoted(
        registration_id=registration_id,
        session_id=session_id,
        community_id="c-1",
        member_id=member_id,
        promoted_at=datetime.now(UTC),
    )


def registration_cancelled(
    member_id: str, session_id: str, registration_id: str
) -> session_events.SessionRegistrationCancelled:
    return session_events.SessionRegistrationCancelled(
        registration_id=registration_id,
        session_id=session_id,
        community_id="c-1",
        member_id=member_id,
        was="confirmed",
        cancelled_at=datetime.now(UTC),
    )
