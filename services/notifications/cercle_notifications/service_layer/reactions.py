"""Reactions to the events this service consumes. They run in the idempotent consumer's transaction and only
record state (replicas, deliveries owed): emails leave from the sending job (sending.py), never from here.

They never fail for good on an event that passes its contract yet holds what a column cannot (a naive or
out-of-range time, a NUL, a lone surrogate, an overlong title): the value is made storable (bottom of this
module), since a failure would be retried, then dead-lettered — a contact's event with her address and name in
the dead-letter topic — and the fact lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cercle_shared.contracts import registration as reg_events
from cercle_shared.contracts import sessions as session_events
from cercle_shared.db import storable
from cercle_shared.messaging import EventContext

from ..adapters import orm
from ..domain import model
from ..domain.model import EmailKind, RegistrationStatus
from . import announcements, reminders
from .unit_of_work import NotificationsUnitOfWork

# --- replicas -------------------------------------------------------------------------------------------------


def contact_changed(event: reg_events.MemberContactChanged, uow: NotificationsUnitOfWork, ctx: EventContext) -> None:
    if event.member_id in uow.erased_members:
        return  # topics are not ordered with one another: a change can arrive after the erasure
    incoming = model.Contact(
        member_id=event.member_id,
        email=_address(event.email),
        display_name=storable.text(event.display_name, orm.contacts.c.display_name),
        language=event.language,
        consents=dict(event.consents),
        updated_at=storable.instant(event.updated_at),
    )
    current = uow.contacts.get(event.member_id)
    if current is None:
        uow.contacts.add(incoming)
    else:
        current.replace_with(incoming)
    _release_waiting(uow, ctx.time, member_id=event.member_id)


def contact_removed(member_id: str, uow: NotificationsUnitOfWork, ctx: EventContext) -> None:
    """A tombstone on the contacts topic: registration erased the contact data, so do we, copies included (the
    address each email went to, errors that may quote it)."""
    contact = uow.contacts.get(member_id)
    if contact is not None:
        uow.contacts.delete(contact)
    # Locked, so that a sender recording an outcome at the same moment cannot write the address back.
    for delivery in uow.deliveries.of_member(member_id, lock=True):
        if not delivery.final:
            delivery.skip(model.SkipReason.CONTACT_REMOVED, model.now())
        delivery.forget_contact()


def member_erased(event: reg_events.MemberErased, uow: NotificationsUnitOfWork, ctx: EventContext) -> None:
    """Law 25 erasure: forget the contact, preferences and registrations; deliveries keep only anonymous facts."""
    at = model.now()
    uow.erased_members.add(event.member_id, storable.instant(event.erased_at))
    # Locked first, so that a sender recording an outcome at the same moment cannot write the address back.
    for delivery in uow.deliveries.of_member(event.member_id, lock=True):
        delivery.anonymize(at)
    contact = uow.contacts.get(event.member_id)
    if contact is not None:
        uow.contacts.delete(contact)
    for registration in uow.registrations.of_member(event.member_id):
        uow.registrations.delete(registration)
    preferences = uow.preferences.get(event.member_id)
    if preferences is not None:
        uow.preferences.delete(preferences)
    for membership in uow.memberships.of_member(event.member_id):
        uow.memberships.delete(membership)
    reminders.member_erased(uow, event.member_id)


def community_named(
    event: reg_events.CommunityCreated | reg_events.CommunityUpdated, uow: NotificationsUnitOfWork, ctx: EventContext
) -> None:
    name_fr = storable.text(event.name_fr, orm.communities.c.name_fr)
    name_en = storable.text(event.name_en, orm.communities.c.name_en)
    current = uow.communities.get(event.community_id)
    if current is None:
        uow.communities.add(model.Community(event.community_id, name_fr, name_en, regions=list(event.regions)))
    else:
        current.rename(name_fr, name_en)
        current.regions = list(event.regions)


def membership_changed(
    event: reg_events.MembershipJoined | reg_events.MembershipRoleChanged,
    uow: NotificationsUnitOfWork,
    ctx: EventContext,
) -> None:
    """Who belongs to a community and who facilitates it (the facilitators' brief, guests in it)."""
    if event.member_id in uow.erased_members:
        return
    at = storable.instant(event.joined_at if isinstance(event, reg_events.MembershipJoined) else event.changed_at)
    current = uow.memberships.get(event.membership_id)
    if current is None:
        role = model.MembershipRole(event.role)
        uow.memberships.add(model.Membership(event.membership_id, event.community_id, event.member_id, role, at))
    elif at >= current.updated_at:
        current.role, current.updated_at = model.MembershipRole(event.role), at
    uow.flush()
    reminders.membership_changed(uow, event.community_id, event.member_id, ctx.time)


def membership_left(event: reg_events.MembershipLeft, uow: NotificationsUnitOfWork, ctx: EventContext) -> None:
    current = uow.memberships.get(event.membership_id)
    if current is not None:
        uow.memberships.delete(current)
        uow.flush()
    reminders.membership_changed(uow, event.community_id, event.member_id, ctx.time)
    announcements.member_left(uow, event.community_id, event.member_id, ctx.time)


def session_scheduled(event: session_events.SessionScheduled, uow: NotificationsUnitOfWork, ctx: EventContext) -> None:
    _replicate_session(uow, event)
    _release_waiting(uow, ctx.time, session_id=event.session_id)
    uow.flush()
    reminders.session_changed(uow, event.session_id, ctx.time)
    announcements.session_scheduled(event, uow, ctx)  # to every member of its community


def session_rescheduled(
    event: session_events.SessionRescheduled, uow: NotificationsUnitOfWork, ctx: EventContext
) -> None:
    """Everyone registered (or waiting) hears about a new time or place; a new capacity alone is not news."""
    previous = uow.sessions.get(event.session_id)
    details: dict[str, Any] = {}
    if previous is not None:
        if not previous.differs_for_attendees(
            **_session_fields(event, "starts_at", "ends_at", "timezone", "mode", "location")
        ):
            _replicate_session(uow, event)
            return
        details = {
            "previous_starts_at": previous.starts_at.isoformat(),
            "previous_ends_at": previous.ends_at.isoformat(),
            "previous_timezone": previous.timezone,
        }
    _replicate_session(uow, event)
    _release_waiting(uow, ctx.time, session_id=event.session_id)
    uow.flush()
    reminders.session_changed(uow, event.session_id, ctx.time, sequence=event.sequence)
    for registration in uow.registrations.active_of_session(event.session_id):
        _owe_email(
            uow,
            ctx,
            EmailKind.SESSION_RESCHEDULED,
            registration.member_id,
            event.session_id,
            {"registration_id": registration.registration_id, **details},
        )


def session_cancelled(event: session_events.SessionCancelled, uow: NotificationsUnitOfWork, ctx: EventContext) -> None:
    scheduled = uow.sessions.get(event.session_id)
    if scheduled is not None:
        scheduled.cancel()
    reminders.session_cancelled(uow, event.session_id, ctx.time)
    for registration in uow.registrations.active_of_session(event.session_id):
        _owe_email(
            uow,
            ctx,
            EmailKind.SESSION_CANCELLED,
            registration.member_id,
            event.session_id,
            {
                "registration_id": registration.registration_id,
                "reason": storable.text(event.reason) if event.reason else None,
            },
        )


SessionEvent = session_events.SessionScheduled | session_events.SessionRescheduled


def _session_fields(event: SessionEvent, *names: str) -> dict[str, Any]:
    """What the replica keeps of a session, made storable."""
    c = orm.sessions.c
    fields = {
        "community_id": event.community_id,
        "title": storable.text(event.title, c.title),
        "starts_at": storable.instant(event.starts_at),
        "ends_at": storable.instant(event.ends_at),
        "timezone": storable.text(event.timezone, c.timezone),
        "mode": storable.text(event.mode, c.mode),
        "location": storable.text(event.location, c.location) if event.location is not None else None,
    }
    return {name: fields[name] for name in names} if names else fields


def _replicate_session(uow: NotificationsUnitOfWork, event: SessionEvent) -> None:
    fields = _session_fields(event)
    current = uow.sessions.get(event.session_id)
    if current is None:
        uow.sessions.add(model.ScheduledSession(session_id=event.session_id, **fields))
    else:
        current.update(**fields)


def _release_waiting(
    uow: NotificationsUnitOfWork, at: datetime, *, member_id: str | None = None, session_id: str | None = None
) -> None:
    for delivery in uow.deliveries.waiting(member_id=member_id, session_id=session_id):
        delivery.reconsider(
            contact_known=delivery.member_id is not None and uow.contacts.get(delivery.member_id) is not None,
            session_known=delivery.session_id is None or uow.sessions.get(delivery.session_id) is not None,
            at=at,  # the event's time, so that a clock other than the wall clock (tests, replays) sees it due
        )


# --- emails owed because of a registration ---------------------------------------------------------------------


def registration_confirmed(
    event: session_events.SessionRegistrationConfirmed, uow: NotificationsUnitOfWork, ctx: EventContext
) -> None:
    _replicate_registration(uow, event, RegistrationStatus.CONFIRMED, ctx.time)
    _owe_email(
        uow,
        ctx,
        EmailKind.REGISTRATION_CONFIRMED,
        event.member_id,
        event.session_id,
        {"registration_id": event.registration_id},
    )


def registration_waitlisted(
    event: session_events.SessionRegistrationWaitlisted, uow: NotificationsUnitOfWork, ctx: EventContext
) -> None:
    _replicate_registration(uow, event, RegistrationStatus.WAITLISTED, ctx.time)
    _owe_email(
        uow,
        ctx,
        EmailKind.REGISTRATION_WAITLISTED,
        event.member_id,
        event.session_id,
        {"registration_id": event.registration_id, "position": event.position},
    )


def registration_promoted(
    event: session_events.SessionRegistrationPromoted, uow: NotificationsUnitOfWork, ctx: EventContext
) -> None:
    # A promoted registration is a confirmed one from now on.
    _replicate_registration(uow, event, RegistrationStatus.CONFIRMED, ctx.time)
    _owe_email(
        uow,
        ctx,
        EmailKind.REGISTRATION_PROMOTED,
        event.member_id,
        event.session_id,
        {"registration_id": event.registration_id},
    )


def registration_cancelled(
    event: session_events.SessionRegistrationCancelled, uow: NotificationsUnitOfWork, ctx: EventContext
) -> None:
    _replicate_registration(uow, event, RegistrationStatus.CANCELLED, ctx.time)
    _owe_email(
        uow,
        ctx,
        EmailKind.REGISTRATION_CANCELLED,
        event.member_id,
        event.session_id,
        {"registration_id": event.registration_id, "was": event.was},
    )


RegistrationEvent = (
    session_events.SessionRegistrationConfirmed
    | session_events.SessionRegistrationWaitlisted
    | session_events.SessionRegistrationPromoted
    | session_events.SessionRegistrationCancelled
)


def _replicate_registration(
    uow: NotificationsUnitOfWork, event: RegistrationEvent, status: RegistrationStatus, at: datetime
) -> None:
    if event.member_id in uow.erased_members:
        return
    current = uow.registrations.get(event.registration_id)
    if current is None:
        current = model.Registration(event.registration_id, event.session_id, event.member_id, status)
        uow.registrations.add(current)
    else:
        current.status = status
    uow.flush()
    reminders.registration_changed(uow, current, at)


def _owe_email(
    uow: NotificationsUnitOfWork,
    ctx: EventContext,
    kind: EmailKind,
    member_id: str,
    session_id: str,
    details: dict[str, Any],
) -> None:
    """One delivery per event, kind and member, however often the event is delivered."""
    if member_id in uow.erased_members:
        return  # no email, and no trace of the member, for an event that arrived after their erasure
    if uow.deliveries.by_source(ctx.event_id, kind, member_id) is not None:
        return
    uow.deliveries.add(
        model.Delivery.create(
            source_event_id=ctx.event_id,
            kind=kind,
            member_id=member_id,
            session_id=session_id,
            details=details,
            contact_known=uow.contacts.get(member_id) is not None,
            session_known=uow.sessions.get(session_id) is not None,
        )
    )


# --- values from other services, made storable ------------------------------------------------------------------


def _address(value: str) -> str:
    """An address is kept exactly as it came, or not at all (empty): mended, it could be someone else's. Its emails
    then fail at once, with the reason, when the sender builds them."""
    fits = storable.text(value, orm.contacts.c.email) == value
    return value if fits else ""
