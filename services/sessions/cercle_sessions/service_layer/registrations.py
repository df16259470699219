"""Registering to a session (a seat while seats last, then the waitlist) and cancelling a registration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cercle_shared.errors import Forbidden, InvalidInput, NotFound
from cercle_shared.principal import Principal

from ..domain.model import Registration, Session, SessionStatus
from . import access
from .unit_of_work import SessionsUnitOfWork


@dataclass(frozen=True)
class Register:
    session_id: str
    member_id: str | None = None  # default: the caller


@dataclass(frozen=True)
class CancelRegistration:
    session_id: str
    registration_id: str


def register(
    cmd: Register, uow: SessionsUnitOfWork, principal: Principal, at: datetime
) -> tuple[Session, Registration]:
    with uow:
        session = access.session(uow, cmd.session_id, lock=True)
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
        if session.status == SessionStatus.DRAFT:
            raise NotFound("no such session", field="session_id")
        registration = session.register(member_id, at)
        uow.commit()
        return session, registration


def cancel_registration(
    cmd: CancelRegistration, uow: SessionsUnitOfWork, principal: Principal, at: datetime
) -> Registration:
    """The registration's member or a manager cancels it; the first on the waitlist gets the seat."""
    with uow:
        session, registration = access.own_registration(
            uow, principal, cmd.session_id, cmd.registration_id, "you may cancel your own registrations only"
        )
        session.cancel_registration(registration, at)
        uow.commit()
        return registration
