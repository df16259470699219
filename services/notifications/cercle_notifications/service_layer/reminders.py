"""Reminders before each session a member is confirmed for, and the facilitators' brief the day before.

Both are timed messages (service_layer/timed.py): planned when what they depend on becomes known (a confirmed or
promoted registration, a scheduled session, a facilitator's membership), moved when the session is rescheduled or
the community's offsets change, cancelled when the session, the registration or the role goes. Moments are
computed in America/Toronto wall time (domain/timed.py: "1 day before 18:00" is 18:00 the day before, across a
change of daylight saving time too). Reminders carry the session's iCalendar invitation (METHOD:REQUEST, the UID
and SEQUENCE of the sessions service's feeds); the emails that announce a cancellation to a confirmed member carry
METHOD:CANCEL, and a reschedule's email an updated REQUEST, so that the entry in her calendar follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cercle_shared.errors import Forbidden, NotFound
from cercle_shared.principal import Principal
from cercle_shared.text import one_line

from ..adapters import ics
from ..adapters.smtp import Attachment
from ..domain import model
from ..domain.model import EmailKind, MembershipRole, RegistrationStatus
from ..domain.timed import CommunityReminders, TimedKey, before_in_wall_time, offset_label, parse_offset
from . import timed
from .sending import Composed, Composer, Draft, compose_default, email_context
from .unit_of_work import NotificationsUnitOfWork

BRIEF_OFFSET = timedelta(days=1)


def subject_of(session_id: str) -> str:
    return f"session:{session_id}"


def _before(moment: datetime, offset: timedelta) -> datetime | None:
    """None at the edge of the calendar (a stored time near year 1 or 9999): no reminder rather than a failure."""
    try:
        return before_in_wall_time(moment, offset)
    except (OverflowError, ValueError):
        return None


# --- planning ---------------------------------------------------------------------------------------------------


def offsets_of(uow: NotificationsUnitOfWork, community_id: str) -> list[tuple[str, timedelta]]:
    settings = uow.community_reminders.get(community_id)
    return (settings or CommunityReminders.default(community_id, model.now())).deltas()


def plan_member(uow: NotificationsUnitOfWork, session: model.ScheduledSession, member_id: str, at: datetime) -> None:
    """Every reminder of one confirmed member for one session: one per offset still ahead; the others cancelled."""
    subject = subject_of(session.session_id)
    offsets = offsets_of(uow, session.community_id)
    labels = {label for label, _ in offsets}
    for message in timed.planned(uow, subject, kind=EmailKind.SESSION_REMINDER, member_id=member_id):
        if message.offset not in labels:
            message.cancel(at, "offset removed")
    for label, offset in offsets:
        key = TimedKey(member_id, subject, EmailKind.SESSION_REMINDER, label)
        due_at = _before(session.starts_at, offset)
        if due_at is None or due_at <= at:  # booked after that moment: no late reminder (she just got her confirmation)
            existing = uow.timed.by_key(key)
            if existing is not None:
                existing.cancel(at, "moment passed before it was planned")
            continue
        timed.plan(uow, key, due_at=due_at, not_after=session.starts_at, session_id=session.session_id, at=at)


def plan_brief(uow: NotificationsUnitOfWork, session: model.ScheduledSession, member_id: str, at: datetime) -> None:
    key = TimedKey(member_id, subject_of(session.session_id), EmailKind.FACILITATOR_BRIEF, offset_label(BRIEF_OFFSET))
    due_at = _before(session.starts_at, BRIEF_OFFSET)
    if due_at is None or due_at <= at:
        return
    timed.plan(uow, key, due_at=due_at, not_after=session.starts_at, session_id=session.session_id, at=at)


def plan_session(uow: NotificationsUnitOfWork, session_id: str, at: datetime | None = None) -> None:
    """(Re)plan everything about one session: its confirmed members' reminders and its facilitators' briefs."""
    at = at or model.now()
    session = uow.sessions.get(session_id)
    if session is None:
        return
    if session.cancelled:
        timed.cancel(uow, subject_of(session_id), why="session cancelled", at=at)
        return
    confirmed: set[str] = set()
    for registration in uow.registrations.of_session(session_id):
        if registration.status == RegistrationStatus.CONFIRMED:
            confirmed.add(registration.member_id)
            plan_member(uow, session, registration.member_id, at)
    for message in timed.planned(uow, subject_of(session_id), kind=EmailKind.SESSION_REMINDER):
        if message.member_id not in confirmed:
            message.cancel(at, "no longer confirmed")
    facilitators = {m.member_id for m in uow.memberships.of_community(session.community_id, MembershipRole.FACILITATOR)}
    for member_id in sorted(facilitators):
        plan_brief(uow, session, member_id, at)
    for message in timed.planned(uow, subject_of(session_id), kind=EmailKind.FACILITATOR_BRIEF):
        if message.member_id not in facilitators:
            message.cancel(at, "no longer facilitator")


# --- what the reactions call --------------------------------------------------------------------------------------


# `at`: the time of the event that changed things (reactions pass its CloudEvents time).


def session_changed(
    uow: NotificationsUnitOfWork, session_id: str, at: datetime, *, sequence: int | None = None
) -> None:
    """Scheduled or rescheduled (the replica already holds the new time): everything moves with it."""
    session = uow.sessions.get(session_id)
    if session is not None and sequence is not None:
        session.sequence = max(session.sequence, sequence)
    plan_session(uow, session_id, at)


def session_cancelled(uow: NotificationsUnitOfWork, session_id: str, at: datetime) -> None:
    timed.cancel(uow, subject_of(session_id), why="session cancelled", at=at)


def registration_changed(uow: NotificationsUnitOfWork, registration: model.Registration, at: datetime) -> None:
    """Confirmed (or promoted): plan her reminders; waitlisted or cancelled: drop them."""
    session = uow.sessions.get(registration.session_id)
    if registration.status == RegistrationStatus.CONFIRMED and session is not None and not session.cancelled:
        plan_member(uow, session, registration.member_id, at)
    else:
        timed.cancel(
            uow,
            subject_of(registration.session_id),
            kind=EmailKind.SESSION_REMINDER,
            member_id=registration.member_id,
            why=f"registration {registration.status}",
            at=at,
        )


def membership_changed(uow: NotificationsUnitOfWork, community_id: str, member_id: str, at: datetime) -> None:
    """A facilitator gets the brief of every upcoming session of the community; one who no longer is, none."""
    facilitates = any(
        m.role == MembershipRole.FACILITATOR and m.community_id == community_id
        for m in uow.memberships.of_member(member_id)
    )
    for session in uow.sessions.upcoming_of_community(community_id, at):
        if facilitates:
            plan_brief(uow, session, member_id, at)
        else:
            timed.cancel(
                uow,
                subject_of(session.session_id),
                kind=EmailKind.FACILITATOR_BRIEF,
                member_id=member_id,
                why="no longer facilitator",
                at=at,
            )


def member_erased(uow: NotificationsUnitOfWork, member_id: str) -> None:
    """Nothing planned for her survives, not even the row that says so."""
    for message in uow.timed.of_member(member_id):
        uow.timed.delete(message)


# --- a community's offsets (operators and the community's coordinators) -----------------------------------------


@dataclass(frozen=True)
class SetReminderOffsets:
    community_id: str
    offsets: list[timedelta]


def ensure_manages(principal: Principal, community: model.Community | None, community_id: str) -> None:
    if principal.is_operator:
        return
    if community is None or not principal.covers_community(community_id, community.regions):
        raise Forbidden("only operators and the community's coordinators may see or change its reminders")


def reminder_offsets(community_id: str, uow: NotificationsUnitOfWork, principal: Principal) -> CommunityReminders:
    with uow:
        community = uow.communities.get(community_id)
        ensure_manages(principal, community, community_id)
        if community is None:
            raise NotFound("no such community", field="community_id")
        return uow.community_reminders.get(community_id) or CommunityReminders.default(community_id, model.now())


def set_reminder_offsets(
    cmd: SetReminderOffsets, uow: NotificationsUnitOfWork, principal: Principal, at: datetime
) -> CommunityReminders:
    """Change how long before its sessions a community's members are reminded; reminders already planned move."""
    with uow:
        community = uow.communities.get(cmd.community_id)
        ensure_manages(principal, community, cmd.community_id)
        if community is None:
            raise NotFound("no such community", field="community_id")
        settings = uow.community_reminders.get(cmd.community_id, lock=True)
        if settings is None:
            settings = CommunityReminders.default(cmd.community_id, at)
            uow.community_reminders.add(settings)
        settings.change(cmd.offsets, by=principal.subject, at=at)
        uow.flush()
        for session in uow.sessions.upcoming_of_community(cmd.community_id, at):
            plan_session(uow, session.session_id, at)
        uow.commit()
        return settings


# --- the emails ---------------------------------------------------------------------------------------------------

_LEAD = {
    "fr": {"day": ("demain", "dans {n} jours"), "hour": ("dans une heure", "dans {n} heures")},
    "en": {"day": ("tomorrow", "in {n} days"), "hour": ("in an hour", "in {n} hours")},
}


def lead(offset: timedelta, language: str) -> str:
    """How far ahead, as a member says it: « demain », « dans 7 jours », "in 2 hours"."""
    words = _LEAD.get(language, _LEAD["fr"])
    if offset >= timedelta(days=1) and offset % timedelta(days=1) == timedelta(0):
        n, unit = offset // timedelta(days=1), "day"
    else:
        n, unit = max(1, round(offset / timedelta(hours=1))), "hour"
    one, many = words[unit]
    return one if n == 1 else many.format(n=n)


def _calendar(draft: Draft, method: str) -> Attachment:
    assert draft.session is not None
    content = ics.invitation(
        draft.session,
        method=method,
        organizer=draft.mail_from,
        attendee_email=draft.contact.email,
        attendee_name=draft.contact.display_name,
        stamped_at=draft.at,
    )
    return ics.as_attachment(content, method)


def compose_reminder(draft: Draft) -> Composed:
    if draft.session is None:
        raise ValueError("a reminder is about a session, and it has none")
    context = email_context(draft.delivery, draft.contact, draft.session, draft.community, draft.language)
    offset = parse_offset(str(draft.delivery.details.get("offset") or "P1D"))
    context["lead"] = lead(offset, draft.language)
    return Composed(context, (_calendar(draft, "REQUEST"),))


def _names(uow: NotificationsUnitOfWork, member_ids: list[str], unknown: str) -> list[str]:
    names = []
    for member_id in member_ids:
        contact = uow.contacts.get(member_id)
        names.append(one_line(contact.display_name) if contact else unknown)
    return sorted(names, key=str.casefold)


def _is_first_time(uow: NotificationsUnitOfWork, session: model.ScheduledSession, member_id: str) -> bool:
    """No confirmed registration to an earlier session of the same community (as far as this replica knows)."""
    for registration in uow.registrations.of_member(member_id):
        if registration.session_id == session.session_id or registration.status != RegistrationStatus.CONFIRMED:
            continue
        other = uow.sessions.get(registration.session_id)
        if other and other.community_id == session.community_id and other.starts_at < session.starts_at:
            return False
    return True


def compose_brief(draft: Draft) -> Composed:
    """Who comes: confirmed, waitlisted, first-timers (no earlier confirmed session of this community) and guests
    (confirmed without being members of the community)."""
    session, uow = draft.session, draft.uow
    if session is None:
        raise ValueError("a brief is about a session, and it has none")
    context = email_context(draft.delivery, draft.contact, session, draft.community, draft.language)
    registrations = uow.registrations.of_session(session.session_id)
    confirmed = [r.member_id for r in registrations if r.status == RegistrationStatus.CONFIRMED]
    waitlisted = [r.member_id for r in registrations if r.status == RegistrationStatus.WAITLISTED]
    members = {m.member_id for m in uow.memberships.of_community(session.community_id)}
    unknown = "(nom inconnu)" if draft.language == "fr" else "(name unknown)"
    context.update(
        confirmed=_names(uow, confirmed, unknown),
        waitlisted=_names(uow, waitlisted, unknown),
        first_timers=_names(uow, [m for m in confirmed if _is_first_time(uow, session, m)], unknown),
        guests=_names(uow, [m for m in confirmed if m not in members], unknown),
    )
    return Composed(context)


def _confirmed_registration(draft: Draft) -> bool:
    registration_id = draft.delivery.details.get("registration_id")
    registration = draft.uow.registrations.get(registration_id) if registration_id else None
    return registration is not None and registration.status == RegistrationStatus.CONFIRMED


def compose_session_cancelled(draft: Draft) -> Composed:
    """The cancellation, with METHOD:CANCEL for a confirmed member (the event leaves her calendar)."""
    composed = compose_default(draft)
    if _confirmed_registration(draft):
        return Composed(composed.context, (_calendar(draft, "CANCEL"),))
    return composed


def compose_registration_cancelled(draft: Draft) -> Composed:
    composed = compose_default(draft)
    if draft.delivery.details.get("was") == RegistrationStatus.CONFIRMED:
        return Composed(composed.context, (_calendar(draft, "CANCEL"),))
    return composed


def compose_rescheduled(draft: Draft) -> Composed:
    """The new time, with the updated invitation (a higher SEQUENCE) for a confirmed member."""
    composed = compose_default(draft)
    if _confirmed_registration(draft):
        return Composed(composed.context, (_calendar(draft, "REQUEST"),))
    return composed


COMPOSERS: dict[str, Composer] = {
    EmailKind.SESSION_REMINDER: compose_reminder,
    EmailKind.FACILITATOR_BRIEF: compose_brief,
    EmailKind.SESSION_CANCELLED: compose_session_cancelled,
    EmailKind.REGISTRATION_CANCELLED: compose_registration_cancelled,
    EmailKind.SESSION_RESCHEDULED: compose_rescheduled,
}


def sample_context(kind: str, language: str) -> dict[str, Any]:
    """Sample values for previews of these kinds."""
    base = {"lead": lead(timedelta(days=1), language)} if kind == EmailKind.SESSION_REMINDER else {}
    if kind == EmailKind.FACILITATOR_BRIEF:
        base = {"confirmed": ["Marie Tremblay"], "waitlisted": [], "first_timers": ["Marie Tremblay"], "guests": []}
    return base
