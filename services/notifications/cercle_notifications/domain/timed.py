"""Timed messages: an email owed to a member at a given moment (a reminder, a brief, a digest...), kept in the
database until its time comes, so that a restart loses none and two instances send none twice.

A timed message is identified by (member, subject, kind, offset): planning the same key again moves the one row
instead of adding a second. Once due it is handed over to the sending pipeline as a Delivery, or skipped when its
moment has passed (`not_after`), or when the member does not want it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from cercle_shared.domain import Aggregate
from cercle_shared.errors import InvalidInput

WALL_CLOCK_ZONE = "America/Toronto"
DEFAULT_REMINDER_OFFSETS = (timedelta(days=7), timedelta(days=1))
MAX_OFFSETS = 5
SHORTEST_OFFSET, LONGEST_OFFSET = timedelta(minutes=15), timedelta(days=60)


class TimedStatus(StrEnum):
    """planned → handed_over (a Delivery now carries it) | skipped | cancelled."""

    PLANNED = "planned"
    HANDED_OVER = "handed_over"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class TimedSkipReason(StrEnum):
    TOO_LATE = "too_late"  # the service was down past not_after (a reminder after the session started)
    NOT_WANTED = "not_wanted"  # the member's preferences exclude this category
    MEMBER_ERASED = "member_erased"
    UNKNOWN_KIND = "unknown_kind"  # planned by a newer version of the service: no template here


@dataclass(frozen=True)
class TimedKey:
    """The idempotency key of a timed message: planning it twice keeps one row."""

    member_id: str
    subject: str
    kind: str
    offset: str = ""


@dataclass(eq=False)
class TimedMessage(Aggregate):
    id: str
    member_id: str
    subject: str
    kind: str
    offset: str
    due_at: datetime
    not_after: datetime | None
    payload: dict[str, Any]
    status: TimedStatus
    created_at: datetime
    updated_at: datetime
    session_id: str | None = None
    generation: int = 1  # raised each time a finished message is planned again for a new moment
    reason: TimedSkipReason | None = None
    delivery_id: str | None = None
    handled_at: datetime | None = None
    cancelled_reason: str | None = field(default=None)

    @classmethod
    def plan(
        cls,
        key: TimedKey,
        *,
        due_at: datetime,
        not_after: datetime | None,
        payload: dict[str, Any],
        session_id: str | None,
        at: datetime,
    ) -> TimedMessage:
        return cls(
            id=str(uuid.uuid4()),
            member_id=key.member_id,
            subject=key.subject,
            kind=key.kind,
            offset=key.offset,
            due_at=due_at,
            not_after=not_after,
            payload=dict(payload),
            status=TimedStatus.PLANNED,
            created_at=at,
            updated_at=at,
            session_id=session_id,
        )

    @property
    def key(self) -> TimedKey:
        return TimedKey(self.member_id, self.subject, self.kind, self.offset)

    @property
    def source_id(self) -> str:
        """The delivery's source: one delivery per message and generation, however often it is handed over."""
        return f"timed:{self.id}:{self.generation}"

    def replan(self, *, due_at: datetime, not_after: datetime | None, payload: dict[str, Any], at: datetime) -> bool:
        """Move a planned message; re-arm a cancelled or finished one for a new moment. False: nothing changed."""
        if self.status == TimedStatus.PLANNED:
            changed = (self.due_at, self.not_after, self.payload) != (due_at, not_after, payload)
        elif self.status == TimedStatus.CANCELLED or self.due_at != due_at:
            changed = True
            if self.status != TimedStatus.CANCELLED:
                self.generation += 1  # it went (or was skipped) for the old moment: the new one is a new email
        else:
            return False  # the same moment again (an event delivered twice): it already went
        if changed:
            self.due_at, self.not_after, self.payload = due_at, not_after, dict(payload)
            self.status, self.reason, self.delivery_id, self.handled_at = TimedStatus.PLANNED, None, None, None
            self.cancelled_reason = None
            self.updated_at = at
        return changed

    def cancel(self, at: datetime, why: str | None = None) -> bool:
        if self.status != TimedStatus.PLANNED:
            return False
        self.status, self.cancelled_reason, self.updated_at = TimedStatus.CANCELLED, why, at
        return True

    def is_due(self, at: datetime) -> bool:
        return self.status == TimedStatus.PLANNED and self.due_at <= at

    def too_late(self, at: datetime) -> bool:
        return self.not_after is not None and at >= self.not_after

    def hand_over(self, delivery_id: str, at: datetime) -> None:
        self.status, self.delivery_id, self.handled_at, self.updated_at = TimedStatus.HANDED_OVER, delivery_id, at, at

    def skip(self, reason: TimedSkipReason, at: datetime) -> None:
        self.status, self.reason, self.handled_at, self.updated_at = TimedStatus.SKIPPED, reason, at, at


# --- moments in wall-clock time ---------------------------------------------------------------------------------


def before_in_wall_time(moment: datetime, offset: timedelta, zone: str = WALL_CLOCK_ZONE) -> datetime:
    """`offset` before `moment` as a clock on the wall reads it: "1 day before 18:00" is 18:00 the day before, even
    when a change to or from daylight saving time lies between (an aware datetime's arithmetic is wall-clock
    arithmetic in its own zone). A time that does not exist that night (spring forward) moves past the gap."""
    return (moment.astimezone(ZoneInfo(zone)) - offset).astimezone(UTC)


_OFFSET = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")


def offset_label(offset: timedelta) -> str:
    """A canonical ISO 8601 duration: P7D, P1D, PT2H, P1DT6H, PT30M."""
    total = int(offset.total_seconds()) // 60
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    time = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "") if total else "PT0M"


def parse_offset(label: str) -> timedelta:
    match = _OFFSET.match(label)
    if not match or label in ("P", "PT"):
        raise InvalidInput(f"not an offset: {label!r} (e.g. P7D, PT2H)", field="offsets")
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def check_offsets(offsets: list[timedelta]) -> list[timedelta]:
    """A community's reminder offsets: a few, distinct, whole minutes, between 15 minutes and 60 days; longest
    first."""
    if len(offsets) > MAX_OFFSETS:
        raise InvalidInput(f"at most {MAX_OFFSETS} offsets", field="offsets")
    for offset in offsets:
        if offset.total_seconds() % 60 or not SHORTEST_OFFSET <= offset <= LONGEST_OFFSET:
            raise InvalidInput(
                f"each offset is whole minutes between {offset_label(SHORTEST_OFFSET)} and "
                f"{offset_label(LONGEST_OFFSET)}",
                field="offsets",
            )
    if len(set(offsets)) != len(offsets):
        raise InvalidInput("offsets must be distinct", field="offsets")
    return sorted(offsets, reverse=True)


@dataclass(eq=False)
class CommunityReminders(Aggregate):
    """How long before each session of a community its members are reminded."""

    community_id: str
    offsets: list[str]
    updated_at: datetime
    updated_by: str | None = None

    @classmethod
    def default(cls, community_id: str, at: datetime) -> CommunityReminders:
        return cls(community_id, [offset_label(o) for o in DEFAULT_REMINDER_OFFSETS], at)

    def change(self, offsets: list[timedelta], *, by: str, at: datetime) -> None:
        self.offsets = [offset_label(o) for o in check_offsets(offsets)]
        self.updated_by, self.updated_at = by, at

    def deltas(self) -> list[tuple[str, timedelta]]:
        return [(label, parse_offset(label)) for label in self.offsets]
