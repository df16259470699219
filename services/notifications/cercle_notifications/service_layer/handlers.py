"""Use cases. Event handlers run inside the idempotent consumer's transaction and only record state:
emails leave from the sender loop (sender.py), never from here."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from cercle_shared.contracts import registration as reg_events
from cercle_shared.contracts import sessions as session_events
from cercle_shared.domain import check_version
from cercle_shared.errors import Forbidden
from cercle_shared.messaging import EventContext
from cercle_shared.principal import Principal, Role

from ..adapters.repository import DeliveryRepository, PreferencesRepository, Replicas, erasures
from ..domain import model
from . import commands
from .unit_of_work import NotificationsUnitOfWork

# --- replicas -------------------------------------------------------------------------------------------------


def on_contact_changed(session: Session, event: reg_events.MemberContactChanged, ctx: EventContext) -> None:
    if event.member_id in erasures(session):
        return  # topics are not ordered with one another: a change can arrive after the erasure
    replicas = Replicas(session)
    incoming = model.Contact(
        member_id=event.member_id,
        email=event.email,
        display_name=event.display_name,
        language=event.language,
        consents=dict(event.consents),
        updated_at=event.updated_at,
    )
    current = replicas.contact(event.member_id)
    if current is None:
        replicas.add(incoming)
    else:
        current.replace_with(incoming)
    _release_waiting(session, member_id=event.member_id)


def on_contact_removed(session: Session, member_id: str, ctx: EventContext) -> None:
    """A tombstone on the contacts topic: registration erased the contact data, so do we."""
    replicas = Replicas(session)
    contact = replicas.contact(member_id)
    if contact is not None:
        replicas.delete(contact)
    for delivery in DeliveryRepository(session).unsent_of_member(member_id):
        delivery.skip(model.CONTACT_REMOVED, model.now())


def on_member_erased(session: Session, event: reg_events.MemberErased, ctx: EventContext) -> None:
    """Law 25 erasure: forget the contact, preferences and registrations; deliveries keep only anonymous facts."""
    at = model.now()
    erasures(session).record(event.member_id, event.erased_at)
    # Locked first, so that a sender recording an outcome at the same moment cannot write the address back.
    for delivery in DeliveryRepository(session).of_member(event.member_id, lock=True):
        delivery.anonymize(at)
    replicas = Replicas(session)
    contact = replicas.contact(event.member_id)
    if contact is not None:
        replicas.delete(contact)
    for registration in replicas.registrations_of_member(event.member_id):
        replicas.delete(registration)
    preferences = PreferencesRepository(session)
    stored = preferences.get(event.member_id)
    if stored is not None:
        preferences.delete(stored)


def on_session_scheduled(session: Session, event: session_events.SessionScheduled, ctx: EventContext) -> None:
    _upsert_session(session, event)
    _release_waiting(session, session_id=event.session_id)


def on_session_rescheduled(session: Session, event: session_events.SessionRescheduled, ctx: EventContext) -> None:
    """Everyone registered (or waiting) hears about a new time or place; a new capacity alone is not news."""
    previous = Replicas(session).session(event.session_id)
    details: dict = {}
    if previous is not None:
        if not previous.differs_for_attendees(
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            timezone=event.timezone,
            mode=event.mode,
            location=event.location,
        ):
            _upsert_session(session, event)
            return
        details = {
            "previous_starts_at": previous.starts_at.isoformat(),
            "previous_ends_at": previous.ends_at.isoformat(),
            "previous_timezone": previous.timezone,
        }
    _upsert_session(session, event)
    _release_waiting(session, session_id=event.session_id)
    for registration in Replicas(session).active_registrations(event.session_id):
        _record(
            session,
            ctx,
            model.RESCHEDULED,
            registration.member_id,
            event.session_id,
            {"registration_id": registration.registration_id, **details},
        )


def on_session_cancelled(session: Session, event: session_events.SessionCancelled, ctx: EventContext) -> None:
    replicas = Replicas(session)
    scheduled = replicas.session(event.session_id)
    if scheduled is not None:
        scheduled.cancelled = True
    for registration in replicas.active_registrations(event.session_id):
        _record(
            session,
            ctx,
            model.SESSION_CANCELLED,
            registration.member_id,
            event.session_id,
            {"registration_id": registration.registration_id, "reason": event.reason},
        )


def _upsert_session(
    session: Session, event: session_events.SessionScheduled | session_events.SessionRescheduled
) -> None:
    replicas = Replicas(session)
    fields = {
        "community_id": event.community_id,
        "title": event.title,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "timezone": event.timezone,
        "mode": event.mode,
        "location": event.location,
    }
    current = replicas.session(event.session_id)
    if current is None:
        replicas.add(model.ScheduledSession(session_id=event.session_id, **fields))
    else:
        for name, value in fields.items():
            setattr(current, name, value)


def on_community_named(
    session: Session, event: reg_events.CommunityCreated | reg_events.CommunityUpdated, ctx: EventContext
) -> None:
    replicas = Replicas(session)
    current = replicas.community(event.community_id)
    if current is None:
        replicas.add(model.Community(event.community_id, event.name_fr, event.name_en))
    else:
        current.name_fr, current.name_en = event.name_fr, event.name_en


def _release_waiting(session: Session, *, member_id: str | None = None, session_id: str | None = None) -> None:
    replicas = Replicas(session)
    for delivery in DeliveryRepository(session).waiting(member_id=member_id, session_id=session_id):
        delivery.reconsider(
            contact_known=delivery.member_id is not None and replicas.contact(delivery.member_id) is not None,
            session_known=delivery.session_id is not None and replicas.session(delivery.session_id) is not None,
        )


# --- deliveries owed because of a registration ------------------------------------------------------------------


def on_registration_confirmed(
    session: Session, event: session_events.SessionRegistrationConfirmed, ctx: EventContext
) -> None:
    _track(session, event, model.REGISTERED)
    _record(
        session, ctx, model.CONFIRMED, event.member_id, event.session_id, {"registration_id": event.registration_id}
    )


def on_registration_waitlisted(
    session: Session, event: session_events.SessionRegistrationWaitlisted, ctx: EventContext
) -> None:
    _track(session, event, model.WAITLIST)
    _record(
        session,
        ctx,
        model.WAITLISTED,
        event.member_id,
        event.session_id,
        {"registration_id": event.registration_id, "position": event.position},
    )


def on_registration_promoted(
    session: Session, event: session_events.SessionRegistrationPromoted, ctx: EventContext
) -> None:
    _track(session, event, model.REGISTERED)
    _record(session, ctx, model.PROMOTED, event.member_id, event.session_id, {"registration_id": event.registration_id})


def on_registration_cancelled(
    session: Session, event: session_events.SessionRegistrationCancelled, ctx: EventContext
) -> None:
    _track(session, event, model.CANCELLED)
    _record(
        session,
        ctx,
        model.REGISTRATION_CANCELLED,
        event.member_id,
        event.session_id,
        {"registration_id": event.registration_id, "was": event.was},
    )


def _track(session: Session, event, status: str) -> None:
    if event.member_id in erasures(session):
        return
    replicas = Replicas(session)
    current = replicas.registration(event.registration_id)
    if current is None:
        replicas.add(model.Registration(event.registration_id, event.session_id, event.member_id, status))
    else:
        current.status = status


def _record(session: Session, ctx: EventContext, kind: str, member_id: str, session_id: str, details: dict) -> None:
    deliveries = DeliveryRepository(session)
    if member_id in erasures(session):
        return  # no email, and no trace of the member, for an event that arrived after their erasure
    if deliveries.by_source(ctx.event_id, kind, member_id) is not None:
        return
    replicas = Replicas(session)
    deliveries.add(
        model.Delivery.record(
            source_event_id=ctx.event_id,
            kind=kind,
            member_id=member_id,
            session_id=session_id,
            details=details,
            contact_known=replicas.contact(member_id) is not None,
            session_known=replicas.session(session_id) is not None,
        )
    )


# --- HTTP use cases -----------------------------------------------------------------------------------------------


def _ensure_self_or_operator(principal: Principal, member_id: str) -> None:
    if not (principal.is_operator or principal.is_member(member_id)):
        raise Forbidden("only the member themselves or an operator may see or change these preferences")


def get_preferences(member_id: str, uow: NotificationsUnitOfWork, principal: Principal) -> model.Preferences:
    """Stored preferences, or the defaults (the profile's language, every kind wanted)."""
    _ensure_self_or_operator(principal, member_id)
    with uow:
        stored = uow.preferences.get(member_id)
        uow.session.expunge_all()  # read-only: hand the objects out loaded, not expired by the rollback
        return stored if stored is not None else model.Preferences(member_id=member_id, version=0)


def update_preferences(
    cmd: commands.UpdatePreferences, uow: NotificationsUnitOfWork, principal: Principal
) -> model.Preferences:
    _ensure_self_or_operator(principal, cmd.member_id)
    with uow:
        stored = uow.preferences.get(cmd.member_id)
        if cmd.expected_version is not None:
            check_version(stored.version if stored else 0, cmd.expected_version)
        if stored is None:
            stored = model.Preferences(member_id=cmd.member_id)
            stored.change(language=cmd.language, opt_out=cmd.opt_out)
            uow.preferences.add(stored)
        else:
            stored.change(language=cmd.language, opt_out=cmd.opt_out)
        uow.commit()
        return stored


def list_deliveries(
    query: commands.ListDeliveries, uow: NotificationsUnitOfWork, principal: Principal
) -> tuple[Sequence[model.Delivery], str | None]:
    """Operators see every delivery; a member sees their own; nobody else sees any."""
    member_id = query.member_id
    if not principal.is_operator:
        if principal.role is not Role.MEMBER or (member_id is not None and member_id != principal.member_id):
            raise Forbidden("members may list their own deliveries only; operators every delivery")
        member_id = principal.member_id
    with uow:
        page = uow.deliveries.page(
            member_id=member_id, status=query.status, kind=query.kind, cursor=query.cursor, limit=query.limit
        )
        uow.session.expunge_all()
        return page
