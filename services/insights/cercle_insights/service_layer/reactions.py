"""Projections: each consumed event updates the read models, in the consumer's transaction (which commits).

Reactions never fail on a reference they do not know yet (events of different topics arrive in any
order): the repository creates a placeholder that the missing event fills in later. Redeliveries are
filtered by the idempotent consumer; reactions are also written so that applying a fact twice changes nothing.
"""

from __future__ import annotations

from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.messaging import EventContext

from ..domain.model import (
    Community,
    CommunityKind,
    CommunityStatus,
    MembershipRole,
    RegistrationStatus,
    SessionMode,
    SessionRegistration,
)
from .unit_of_work import InsightsUnitOfWork

RegistrationEvent = (
    ses.SessionRegistrationConfirmed
    | ses.SessionRegistrationWaitlisted
    | ses.SessionRegistrationPromoted
    | ses.SessionRegistrationCancelled
)


def community_created(event: reg.CommunityCreated, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    community = _describe(uow, event)
    community.created_at = event.created_at
    uow.replica.set_regions(community)


def community_updated(event: reg.CommunityUpdated, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    community = _describe(uow, event)
    uow.replica.set_regions(community)


def _describe(uow: InsightsUnitOfWork, event: reg.CommunityCreated | reg.CommunityUpdated) -> Community:
    community = uow.replica.community(event.community_id)
    community.describe(
        name_fr=event.name_fr,
        name_en=event.name_en,
        kind=CommunityKind(event.kind),
        domain=event.domain,
        regions=event.regions,
        province_wide=event.province_wide,
        status=CommunityStatus(event.status),
    )
    return community


def community_status_changed(event: reg.CommunityStatusChanged, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    uow.replica.community(event.community_id).change_status(CommunityStatus(event.status))


def membership_joined(event: reg.MembershipJoined, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    membership = uow.replica.membership(event.membership_id, event.community_id)
    erased_at = uow.replica.erased_at(event.member_id)
    membership.join(None if erased_at else event.member_id, MembershipRole(event.role), event.joined_at)
    if erased_at:
        membership.anonymize(erased_at)


def membership_role_changed(event: reg.MembershipRoleChanged, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    membership = uow.replica.membership(event.membership_id, event.community_id)
    erased = uow.replica.erased_at(event.member_id) is not None
    membership.change_role(MembershipRole(event.role), None if erased else event.member_id)


def membership_left(event: reg.MembershipLeft, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    uow.replica.membership(event.membership_id, event.community_id).end(event.left_at)


def member_erased(event: reg.MemberErased, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    """Keep the counts, drop the id: memberships end and lose their member, registrations lose theirs."""
    uow.replica.record_erasure(event.member_id, event.erased_at)
    for membership in uow.replica.memberships_of(event.member_id):
        membership.anonymize(event.erased_at)
    for registration in uow.replica.registrations_of(event.member_id):
        registration.anonymize()


def session_scheduled(event: ses.SessionScheduled, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    uow.replica.session(event.session_id, event.community_id).schedule(
        starts_at=event.starts_at, ends_at=event.ends_at, mode=SessionMode(event.mode), capacity=event.capacity
    )


def session_rescheduled(event: ses.SessionRescheduled, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    uow.replica.session(event.session_id, event.community_id).schedule(
        starts_at=event.starts_at, ends_at=event.ends_at, mode=SessionMode(event.mode), capacity=event.capacity
    )


def session_held(event: ses.SessionHeld, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    uow.replica.session(event.session_id, event.community_id).hold(event.starts_at)


def session_cancelled(event: ses.SessionCancelled, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    uow.replica.session(event.session_id, event.community_id).cancel()


def attendance_recorded(event: ses.SessionAttendanceRecorded, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    uow.replica.session(event.session_id, event.community_id).record_attendance(event.present, event.absent)


def registration_confirmed(event: ses.SessionRegistrationConfirmed, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    _set_registration(uow, event, RegistrationStatus.CONFIRMED)


def registration_waitlisted(
    event: ses.SessionRegistrationWaitlisted, uow: InsightsUnitOfWork, ctx: EventContext
) -> None:
    _set_registration(uow, event, RegistrationStatus.WAITLISTED)


def registration_promoted(event: ses.SessionRegistrationPromoted, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    """One fewer waiting, one more seated: the registration moves from waitlisted to confirmed."""
    _set_registration(uow, event, RegistrationStatus.CONFIRMED)


def registration_cancelled(event: ses.SessionRegistrationCancelled, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    _set_registration(uow, event, RegistrationStatus.CANCELLED)


def _set_registration(uow: InsightsUnitOfWork, event: RegistrationEvent, status: RegistrationStatus) -> None:
    registration = uow.replica.registration(event.registration_id)
    if registration is not None:
        registration.change_status(status)
        return
    erased = uow.replica.erased_at(event.member_id) is not None
    uow.replica.add_registration(
        SessionRegistration(
            id=event.registration_id,
            session_id=event.session_id,
            community_id=event.community_id,
            member_id=None if erased else event.member_id,
            status=status,
        )
    )
