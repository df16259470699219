"""Indicators computed from the read models: plain arithmetic, with `now` passed in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from .model import CommunitySession, Membership, MembershipRole, RegistrationStatus, SessionStatus

SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class MemberFigures:
    active: int
    joined_to_date: int
    left_to_date: int
    average_tenure_days: float | None
    active_by_role: dict[str, int]


@dataclass(frozen=True)
class SessionFigures:
    total: int
    upcoming: int
    held: int
    cancelled: int


@dataclass(frozen=True)
class RegistrationFigures:
    confirmed: int
    waitlisted: int
    cancelled: int


@dataclass(frozen=True)
class AttendanceFigures:
    sessions_recorded: int
    present: int
    absent: int
    rate: float | None


@dataclass(frozen=True)
class Figures:
    members: MemberFigures
    sessions: SessionFigures
    registrations: RegistrationFigures
    attendance: AttendanceFigures


def member_figures(memberships: Iterable[Membership], now: datetime) -> MemberFigures:
    """Joins and departures to date (an erasure ends a membership); tenure of ongoing ones runs until now."""
    started = [m for m in memberships if m.joined_at is not None]
    active = [m for m in started if m.active]
    tenures = [_tenure_days(joined, m.left_at or now) for m in started if (joined := m.joined_at) is not None]
    roles = Counter(m.role for m in active)
    return MemberFigures(
        active=len({m.member_id or m.id for m in active}),
        joined_to_date=len(started),
        left_to_date=len(started) - len(active),
        average_tenure_days=round(sum(tenures) / len(tenures), 1) if tenures else None,
        active_by_role={role.value: roles.get(role, 0) for role in MembershipRole},
    )


def _tenure_days(joined: datetime, ended: datetime) -> float:
    return max(0.0, (ended - joined).total_seconds()) / SECONDS_PER_DAY


def session_figures(sessions: Iterable[CommunitySession], now: datetime) -> SessionFigures:
    known = [s for s in sessions if s.status is not None]
    statuses = Counter(s.status for s in known)
    upcoming = sum(
        1 for s in known if s.status == SessionStatus.SCHEDULED and s.starts_at is not None and s.starts_at > now
    )
    return SessionFigures(
        total=statuses[SessionStatus.SCHEDULED] + statuses[SessionStatus.HELD],
        upcoming=upcoming,
        held=statuses[SessionStatus.HELD],
        cancelled=statuses[SessionStatus.CANCELLED],
    )


def attendance_figures(sessions: Iterable[CommunitySession]) -> AttendanceFigures:
    recorded = [s for s in sessions if s.present is not None and s.status != SessionStatus.CANCELLED]
    present = sum(s.present or 0 for s in recorded)
    absent = sum(s.absent or 0 for s in recorded)
    return AttendanceFigures(
        sessions_recorded=len(recorded),
        present=present,
        absent=absent,
        rate=round(present / (present + absent), 3) if present + absent else None,
    )


def registration_figures(by_status: Mapping[str, int]) -> RegistrationFigures:
    return RegistrationFigures(
        confirmed=by_status.get(RegistrationStatus.CONFIRMED, 0),
        waitlisted=by_status.get(RegistrationStatus.WAITLISTED, 0),
        cancelled=by_status.get(RegistrationStatus.CANCELLED, 0),
    )


def figures(
    memberships: Iterable[Membership],
    sessions: Iterable[CommunitySession],
    registrations_by_status: Mapping[str, int],
    now: datetime,
) -> Figures:
    sessions = list(sessions)
    return Figures(
        members=member_figures(memberships, now),
        sessions=session_figures(sessions, now),
        registrations=registration_figures(registrations_by_status),
        attendance=attendance_figures(sessions),
    )
