"""Who came: attendance recorded by a manager after the start, or a member's own check-in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cercle_shared.principal import Principal

from ..domain.model import Session
from . import access
from .unit_of_work import SessionsUnitOfWork


@dataclass(frozen=True)
class RecordAttendance:
    session_id: str
    marks: dict[str, bool]  # registration id -> present


@dataclass(frozen=True)
class CheckIn:
    session_id: str
    registration_id: str


def record_attendance(cmd: RecordAttendance, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> Session:
    with uow:
        session = access.session(uow, cmd.session_id, lock=True)
        access.ensure_manages(principal, access.community(uow, session.community_id), uow)
        session.record_attendance(cmd.marks, at)
        uow.commit()
        return session


def check_in(cmd: CheckIn, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> Session:
    with uow:
        session, registration = access.own_registration(
            uow, principal, cmd.session_id, cmd.registration_id, "you may check yourself in only"
        )
        session.check_in(registration, at)
        uow.commit()
        return session
