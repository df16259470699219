"""Projections: each consumed event updates the read models, in the consumer's transaction (which commits).

Reactions never fail on a reference they do not know yet (events of different topics arrive in any
order): the repository creates a placeholder that the missing event fills in later. Redeliveries are
filtered by the idempotent consumer; reactions are also written so that applying a fact twice changes nothing.

Nor do they fail for good on an event that passes its contract yet holds what a column cannot (a naive or
out-of-range time, a count past 32 bits, a NUL, a lone surrogate, an overlong name, a newer producer's kind):
the value is made storable (bottom of this module), since a failure would be retried, dead-lettered, and the
fact lost for good.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Column

from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.db import storable
from cercle_shared.messaging import EventContext

from ..adapters import orm
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
    community.created_at = storable.instant(event.created_at)
    uow.replica.set_regions(community)


def community_updated(event: reg.CommunityUpdated, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    community = _describe(uow, event)
    uow.replica.set_regions(community)


def _describe(uow: InsightsUnitOfWork, event: reg.CommunityCreated | reg.CommunityUpdated) -> Community:
    community = uow.replica.community(event.community_id)
    c = orm.communities.c
    community.describe(
        name_fr=storable.text(event.name_fr, c.name_fr),
        name_en=storable.text(event.name_en, c.name_en),
        kind=_known(CommunityKind, event.kind, c.kind),
        domain=storable.text(event.domain, c.domain) if event.domain is not None else None,
        regions=event.regions,
        province_wide=event.province_wide,
        status=_known(CommunityStatus, event.status, c.status),
    )
    return community


def community_status_changed(event: reg.CommunityStatusChanged, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    uow.replica.community(event.community_id).change_status(
        _known(CommunityStatus, event.status, orm.communities.c.status)
    )


def membership_joined(event: reg.MembershipJoined, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    membership = uow.replica.membership(event.membership_id, event.community_id)
    erased_at = uow.replica.erased_at(event.member_id)
    role = _known(MembershipRole, event.role, orm.memberships.c.role)
    membership.join(None if erased_at else event.member_id, role, storable.instant(event.joined_at))
    if erased_at:
        membership.anonymize(erased_at)


def membership_role_changed(event: reg.MembershipRoleChanged, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    membership = uow.replica.membership(event.membership_id, event.community_id)
    erased = uow.replica.erased_at(event.member_id) is not None
    membership.change_role(
        _known(MembershipRole, event.role, orm.memberships.c.role), None if erased else event.member_id
    )


def membership_left(event: reg.MembershipLeft, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    uow.replica.membership(event.membership_id, event.community_id).end(storable.instant(event.left_at))


def member_erased(event: reg.MemberErased, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    """Keep the counts, drop the id: memberships end and lose their member, registrations lose theirs."""
    erased_at = storable.instant(event.erased_at)
    uow.replica.record_erasure(event.member_id, erased_at)
    for membership in uow.replica.memberships_of(event.member_id):
        membership.anonymize(erased_at)
    for registration in uow.replica.registrations_of(event.member_id):
        registration.anonymize()


def session_scheduled(event: ses.SessionScheduled, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    _schedule(uow, event)


def session_rescheduled(event: ses.SessionRescheduled, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    _schedule(uow, event)


def _schedule(uow: InsightsUnitOfWork, event: ses.SessionScheduled | ses.SessionRescheduled) -> None:
    uow.replica.session(event.session_id, event.community_id).schedule(
        starts_at=storable.instant(event.starts_at),
        ends_at=storable.instant(event.ends_at),
        mode=_known(SessionMode, event.mode, orm.sessions.c.mode),
        capacity=storable.count(event.capacity),
    )


def session_held(event: ses.SessionHeld, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    uow.replica.session(event.session_id, event.community_id).hold(storable.instant(event.starts_at))


def session_cancelled(event: ses.SessionCancelled, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    uow.replica.session(event.session_id, event.community_id).cancel()


def attendance_recorded(event: ses.SessionAttendanceRecorded, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    uow.replica.session(event.session_id, event.community_id).record_attendance(
        storable.count(event.present), storable.count(event.absent)
    )


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


# --- values from other services, made storable ------------------------------------------------------------------

E = TypeVar("E", bound=StrEnum)


def _known(enum: type[E], value: str, column: Column[Any]) -> E | str:
    """The enum member, or, for a value this version does not know (a newer producer's), the string it is."""
    try:
        return enum(value)
    except ValueError:
        return storable.text(str(value), column)
