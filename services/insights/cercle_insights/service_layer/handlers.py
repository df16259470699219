"""Projections: each event handler updates the read models inside the consumer's transaction.

Handlers never fail on a reference they do not know yet (events of different topics arrive in any
order): they create a placeholder that the missing event fills in later. Redeliveries are filtered
by the IdempotentConsumer; handlers are also written so that applying a fact twice changes nothing.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.messaging import EventContext

from ..adapters.repository import Replica
from ..domain.model import Community, SessionRegistration


def community_created(session: Session, event: reg.CommunityCreated, ctx: EventContext) -> None:
    replica = Replica(session)
    community = _describe(replica, event)
    community.created_at = event.created_at
    replica.set_regions(community)


def community_updated(session: Session, event: reg.CommunityUpdated, ctx: EventContext) -> None:
    replica = Replica(session)
    community = _describe(replica, event)
    replica.set_regions(community)


def _describe(replica: Replica, event: reg.CommunityCreated | reg.CommunityUpdated) -> Community:
    community = replica.community(event.community_id)
    community.describe(
        name_fr=event.name_fr,
        name_en=event.name_en,
        kind=event.kind,
        domain=event.domain,
        regions=event.regions,
        province_wide=event.province_wide,
        status=event.status,
    )
    return community


def community_status_changed(session: Session, event: reg.CommunityStatusChanged, ctx: EventContext) -> None:
    Replica(session).community(event.community_id).status = event.status


def membership_joined(session: Session, event: reg.MembershipJoined, ctx: EventContext) -> None:
    replica = Replica(session)
    membership = replica.membership(event.membership_id, event.community_id)
    erased_at = replica.erased_at(event.member_id)
    membership.join(None if erased_at else event.member_id, event.role, event.joined_at)
    if erased_at:
        membership.anonymize(erased_at)


def membership_role_changed(session: Session, event: reg.MembershipRoleChanged, ctx: EventContext) -> None:
    replica = Replica(session)
    membership = replica.membership(event.membership_id, event.community_id)
    membership.role = event.role
    if membership.member_id is None and membership.joined_at is None and not replica.erased_at(event.member_id):
        membership.member_id = event.member_id


def membership_left(session: Session, event: reg.MembershipLeft, ctx: EventContext) -> None:
    Replica(session).membership(event.membership_id, event.community_id).end(event.left_at)


def member_erased(session: Session, event: reg.MemberErased, ctx: EventContext) -> None:
    """Keep the counts, drop the id: memberships end and lose their member, registrations lose theirs."""
    replica = Replica(session)
    replica.record_erasure(event.member_id, event.erased_at)
    for membership in replica.memberships_of(event.member_id):
        membership.anonymize(event.erased_at)
    for registration in replica.registrations_of(event.member_id):
        registration.member_id = None


def session_scheduled(session: Session, event: ses.SessionScheduled, ctx: EventContext) -> None:
    Replica(session).session(event.session_id, event.community_id).schedule(
        starts_at=event.starts_at, ends_at=event.ends_at, mode=event.mode, capacity=event.capacity
    )


def session_rescheduled(session: Session, event: ses.SessionRescheduled, ctx: EventContext) -> None:
    Replica(session).session(event.session_id, event.community_id).schedule(
        starts_at=event.starts_at, ends_at=event.ends_at, mode=event.mode, capacity=event.capacity
    )


def session_held(session: Session, event: ses.SessionHeld, ctx: EventContext) -> None:
    Replica(session).session(event.session_id, event.community_id).hold(event.starts_at)


def session_cancelled(session: Session, event: ses.SessionCancelled, ctx: EventContext) -> None:
    Replica(session).session(event.session_id, event.community_id).cancel()


def attendance_recorded(session: Session, event: ses.SessionAttendanceRecorded, ctx: EventContext) -> None:
    Replica(session).session(event.session_id, event.community_id).record_attendance(event.present, event.absent)


def registration_confirmed(session: Session, event: ses.SessionRegistrationConfirmed, ctx: EventContext) -> None:
    _set_registration(Replica(session), event, "confirmed")


def registration_waitlisted(session: Session, event: ses.SessionRegistrationWaitlisted, ctx: EventContext) -> None:
    _set_registration(Replica(session), event, "waitlisted")


def registration_promoted(session: Session, event: ses.SessionRegistrationPromoted, ctx: EventContext) -> None:
    """One fewer waiting, one more seated: the registration moves from waitlisted to confirmed."""
    _set_registration(Replica(session), event, "confirmed")


def registration_cancelled(session: Session, event: ses.SessionRegistrationCancelled, ctx: EventContext) -> None:
    _set_registration(Replica(session), event, "cancelled")


def _set_registration(replica: Replica, event, status: str) -> None:
    # One registration's events share a partition (key: session_id), so the latest status is the truth.
    registration = replica.registration(event.registration_id)
    if registration is None:
        erased = replica.erased_at(event.member_id) is not None
        replica.add_registration(
            SessionRegistration(
                id=event.registration_id,
                session_id=event.session_id,
                community_id=event.community_id,
                member_id=None if erased else event.member_id,
                status=status,
            )
        )
    else:
        registration.status = status
