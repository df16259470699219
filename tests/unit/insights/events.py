"""Event builders with sensible defaults, so that each test states only what matters to it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses

T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def community_created(community_id: str, *, regions=("13",), status="active", name="CoP Laval", **kw):
    return reg.CommunityCreated(
        community_id=community_id,
        name_fr=name,
        name_en=kw.pop("name_en", name),
        kind="community_of_practice",
        regions=list(regions),
        cadence=6,
        status=status,
        created_at=kw.pop("created_at", T0),
        **kw,
    )


def community_updated(community_id: str, *, regions=("13",), status="active", name="CoP Laval"):
    return reg.CommunityUpdated(
        community_id=community_id,
        name_fr=name,
        name_en=name,
        kind="community_of_practice",
        regions=list(regions),
        cadence=6,
        status=status,
        updated_at=day(1),
    )


def joined(community_id: str, member_id: str, *, membership_id: str | None = None, at=T0, role="participant"):
    return reg.MembershipJoined(
        membership_id=membership_id or new_id(),
        community_id=community_id,
        member_id=member_id,
        role=role,
        joined_at=at,
    )


def left(membership: reg.MembershipJoined, *, at):
    return reg.MembershipLeft(
        membership_id=membership.membership_id,
        community_id=membership.community_id,
        member_id=membership.member_id,
        left_at=at,
    )


def role_changed(membership: reg.MembershipJoined, role: str):
    return reg.MembershipRoleChanged(
        membership_id=membership.membership_id,
        community_id=membership.community_id,
        member_id=membership.member_id,
        role=role,
        changed_at=day(1),
    )


def erased(member_id: str, *, at):
    return reg.MemberErased(member_id=member_id, erased_at=at)


def scheduled(community_id: str, session_id: str | None = None, *, starts_at=None, capacity=20):
    starts_at = starts_at or day(30)
    return ses.SessionScheduled(
        session_id=session_id or new_id(),
        community_id=community_id,
        title="Nature et santé mentale",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        mode="hybrid",
        capacity=capacity,
    )


def confirmed(community_id: str, session_id: str, member_id: str, registration_id: str | None = None):
    return ses.SessionRegistrationConfirmed(
        registration_id=registration_id or new_id(),
        session_id=session_id,
        community_id=community_id,
        member_id=member_id,
        confirmed_at=T0,
    )


def waitlisted(community_id: str, session_id: str, member_id: str, registration_id: str | None = None):
    return ses.SessionRegistrationWaitlisted(
        registration_id=registration_id or new_id(),
        session_id=session_id,
        community_id=community_id,
        member_id=member_id,
        position=1,
        waitlisted_at=T0,
    )


def promoted(registration: ses.SessionRegistrationWaitlisted):
    return ses.SessionRegistrationPromoted(
        registration_id=registration.registration_id,
        session_id=registration.session_id,
        community_id=registration.community_id,
        member_id=registration.member_id,
        promoted_at=day(1),
    )


def registration_cancelled(registration, was: str):
    return ses.SessionRegistrationCancelled(
        registration_id=registration.registration_id,
        session_id=registration.session_id,
        community_id=registration.community_id,
        member_id=registration.member_id,
        was=was,
        cancelled_at=day(1),
    )
