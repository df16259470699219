"""Session use cases: check scope and rules, change state, record events — in one transaction."""

from __future__ import annotations

from datetime import datetime

from cercle_shared.contracts import sessions as events
from cercle_shared.domain import check_version
from cercle_shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from cercle_shared.principal import Principal

from ..domain import model
from . import access, commands
from .unit_of_work import SessionsUnitOfWork


def _session(uow: SessionsUnitOfWork, session_id: str, *, lock: bool = False) -> model.Session:
    found = uow.sessions.get_for_update(session_id) if lock else uow.sessions.get(session_id)
    if found is None:
        raise NotFound("no such session", field="session_id")
    return found


def scheduled_event(session: model.Session) -> events.SessionScheduled:
    return events.SessionScheduled(
        session_id=session.id,
        community_id=session.community_id,
        title=session.title,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        timezone=session.timezone,
        mode=session.mode,
        location=session.location or session.link,
        capacity=session.capacity,
        theme_id=session.theme_id,
    )


def schedule_session(
    cmd: commands.ScheduleSession, uow: SessionsUnitOfWork, principal: Principal, at: datetime
) -> model.Session:
    with uow:
        community = access.community(uow, cmd.community_id)
        access.ensure_manages(principal, community, uow)
        community.ensure_active()
        fields = {k: v for k, v in cmd.__dict__.items() if k != "draft"}
        _check_people(uow, community.id, cmd.co_facilitators)
        cycle_id = _check_theme(uow, community.id, cmd.theme_id)
        session = model.Session(
            id=model.new_id(),
            status="draft" if cmd.draft else "scheduled",
            created_at=at,
            updated_at=at,
            cycle_id=cycle_id,
            **fields,
        )
        if not cmd.draft and session.starts_at <= at:
            raise InvalidInput("a session is scheduled in the future", field="starts_at")
        uow.sessions.add(session)
        uow.session.flush()
        if not cmd.draft:
            uow.publish(scheduled_event(session))
        uow.commit()
        return session


def _check_people(uow: SessionsUnitOfWork, community_id: str, member_ids: list[str]) -> None:
    strangers = [m for m in member_ids if uow.memberships.current(community_id, m) is None]
    if strangers:
        raise InvalidInput(f"co-facilitators must be members of the community: {strangers}", field="co_facilitators")


def _check_theme(uow: SessionsUnitOfWork, community_id: str, theme_id: str | None) -> str | None:
    if theme_id is None:
        return None
    theme = uow.themes.get(theme_id)
    if theme is None or theme.community_id != community_id:
        raise InvalidInput("no such theme in this community", field="theme_id")
    return theme.cycle_id


def get_session(session_id: str, uow: SessionsUnitOfWork, principal: Principal) -> model.Session:
    with uow:
        session = _session(uow, session_id)
        community = access.community(uow, session.community_id)
        access.ensure_sees(principal, community, uow)
        if session.status == "draft" and not access.manages(principal, community, uow):
            raise NotFound("no such session", field="session_id")
        return session


def list_sessions(community_id: str, uow: SessionsUnitOfWork, principal: Principal) -> list[model.Session]:
    with uow:
        community = access.community(uow, community_id)
        access.ensure_sees(principal, community, uow)
        manager = access.manages(principal, community, uow)
        return [s for s in uow.sessions.of_community(community_id) if manager or s.status != "draft"]


def my_sessions(uow: SessionsUnitOfWork, principal: Principal) -> list[tuple[model.Session, model.Registration]]:
    """The caller's active registrations, with their sessions, in start order."""
    if not principal.member_id:
        raise InvalidInput("a member token is needed", field="member_id")
    with uow:
        return [(s, s.current_registration(principal.member_id)) for s in uow.sessions.registered(principal.member_id)]


def change_session(
    cmd: commands.ChangeSession, uow: SessionsUnitOfWork, principal: Principal, at: datetime
) -> model.Session:
    with uow:
        session = _session(uow, cmd.session_id, lock=True)
        access.ensure_manages(principal, access.community(uow, session.community_id), uow)
        if cmd.expected_version is not None:
            check_version(session.version, cmd.expected_version)
        for name, value in cmd.changes.items():
            if value is None and name not in ("location", "link"):
                raise InvalidInput(f"{name} cannot be emptied", field=name)
        if "co_facilitators" in cmd.changes:
            _check_people(uow, session.community_id, cmd.changes["co_facilitators"])
        moved, promoted = session.reschedule(at, **cmd.changes)
        uow.session.flush()
        if session.status != "draft" and (moved or "capacity" in cmd.changes):
            uow.publish(
                events.SessionRescheduled(
                    session_id=session.id,
                    community_id=session.community_id,
                    title=session.title,
                    starts_at=session.starts_at,
                    ends_at=session.ends_at,
                    timezone=session.timezone,
                    mode=session.mode,
                    location=session.location or session.link,
                    capacity=session.capacity,
                    sequence=session.sequence,
                    rescheduled_at=at,
                )
            )
        _publish_promotions(uow, session, promoted, at)
        uow.commit()
        return session


def publish_draft(session_id: str, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> model.Session:
    with uow:
        session = _session(uow, session_id, lock=True)
        access.ensure_manages(principal, access.community(uow, session.community_id), uow)
        if session.starts_at <= at:
            raise Conflict("this draft starts in the past: move it first", field="starts_at")
        session.publish(at)
        uow.session.flush()
        uow.publish(scheduled_event(session))
        uow.commit()
        return session


def cancel_session(
    cmd: commands.CancelSession, uow: SessionsUnitOfWork, principal: Principal, at: datetime
) -> model.Session:
    with uow:
        session = _session(uow, cmd.session_id, lock=True)
        access.ensure_manages(principal, access.community(uow, session.community_id), uow)
        was_draft = session.status == "draft"
        session.cancel(at)
        uow.session.flush()
        if not was_draft:
            uow.publish(
                events.SessionCancelled(
                    session_id=session.id, community_id=session.community_id, reason=cmd.reason, cancelled_at=at
                )
            )
        uow.commit()
        return session


def mark_held(session_id: str, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> model.Session:
    with uow:
        session = _session(uow, session_id, lock=True)
        access.ensure_manages(principal, access.community(uow, session.community_id), uow)
        session.mark_held(at)
        uow.session.flush()
        uow.publish(
            events.SessionHeld(
                session_id=session.id,
                community_id=session.community_id,
                theme_id=session.theme_id,
                starts_at=session.starts_at,
                formats=session.formats,
                held_at=at,
            )
        )
        uow.commit()
        return session


def register(
    cmd: commands.Register, uow: SessionsUnitOfWork, principal: Principal, at: datetime
) -> tuple[model.Session, model.Registration]:
    with uow:
        session = _session(uow, cmd.session_id, lock=True)
        community = access.community(uow, session.community_id)
        member_id = cmd.member_id or principal.member_id
        if member_id is None:
            raise InvalidInput("say which member to register", field="member_id")
        on_behalf = not principal.is_member(member_id)
        if on_behalf and not access.manages(principal, community, uow):
            raise Forbidden("you may register yourself only")
        if uow.memberships.current(community.id, member_id) is None:
            if on_behalf:
                raise InvalidInput("this member does not belong to the session's community", field="member_id")
            raise Forbidden("join the community first: its sessions are for its members")
        if session.status == "draft":
            raise NotFound("no such session", field="session_id")
        registration = session.register(member_id, at)
        uow.session.flush()
        if registration.status == "confirmed":
            uow.publish(
                events.SessionRegistrationConfirmed(
                    registration_id=registration.id,
                    session_id=session.id,
                    community_id=session.community_id,
                    member_id=member_id,
                    confirmed_at=at,
                )
            )
        else:
            uow.publish(
                events.SessionRegistrationWaitlisted(
                    registration_id=registration.id,
                    session_id=session.id,
                    community_id=session.community_id,
                    member_id=member_id,
                    position=session.position_of(registration),
                    waitlisted_at=at,
                )
            )
        uow.commit()
        return session, registration


def _own_registration(uow: SessionsUnitOfWork, cmd, principal: Principal, refusal: str):
    """The session (locked) and one of its registrations, if it is the caller's own or the caller manages it."""
    session = _session(uow, cmd.session_id, lock=True)
    registration = session.find_registration(cmd.registration_id)
    if registration is None:
        raise NotFound("no such registration", field="registration_id")
    community = access.community(uow, session.community_id)
    if not (principal.is_member(registration.member_id) or access.manages(principal, community, uow)):
        raise Forbidden(refusal)
    return session, registration


def cancel_registration(
    cmd: commands.CancelRegistration, uow: SessionsUnitOfWork, principal: Principal, at: datetime
) -> model.Registration:
    with uow:
        session, registration = _own_registration(uow, cmd, principal, "you may cancel your own registrations only")
        was = registration.status
        promoted = session.cancel_registration(registration, at)
        uow.session.flush()
        uow.publish(
            events.SessionRegistrationCancelled(
                registration_id=registration.id,
                session_id=session.id,
                community_id=session.community_id,
                member_id=registration.member_id,
                was=was,
                cancelled_at=at,
            )
        )
        _publish_promotions(uow, session, promoted, at)
        uow.commit()
        return registration


def _publish_promotions(
    uow: SessionsUnitOfWork, session: model.Session, promoted: list[model.Registration], at: datetime
) -> None:
    for registration in promoted:
        uow.publish(
            events.SessionRegistrationPromoted(
                registration_id=registration.id,
                session_id=session.id,
                community_id=session.community_id,
                member_id=registration.member_id,
                promoted_at=at,
            )
        )


def list_registrations(
    session_id: str, uow: SessionsUnitOfWork, principal: Principal
) -> tuple[model.Session, list[model.Registration]]:
    """Managers see every registration; a member sees their own."""
    with uow:
        session = _session(uow, session_id)
        community = access.community(uow, session.community_id)
        access.ensure_sees(principal, community, uow)
        if access.manages(principal, community, uow):
            return session, list(session.registrations)
        return session, [r for r in session.registrations if principal.is_member(r.member_id)]


def record_attendance(
    cmd: commands.RecordAttendance, uow: SessionsUnitOfWork, principal: Principal, at: datetime
) -> model.Session:
    with uow:
        session = _session(uow, cmd.session_id, lock=True)
        access.ensure_manages(principal, access.community(uow, session.community_id), uow)
        session.record_attendance(cmd.marks, at)
        _publish_attendance(uow, session, at)
        uow.commit()
        return session


def check_in(cmd: commands.CheckIn, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> model.Session:
    with uow:
        session, registration = _own_registration(uow, cmd, principal, "you may check yourself in only")
        session.check_in(registration, at)
        _publish_attendance(uow, session, at)
        uow.commit()
        return session


def _publish_attendance(uow: SessionsUnitOfWork, session: model.Session, at: datetime) -> None:
    uow.session.flush()
    uow.publish(
        events.SessionAttendanceRecorded(
            session_id=session.id, community_id=session.community_id, recorded_at=at, **session.attendance_counts()
        )
    )
