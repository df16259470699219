"""Sessions as an iCalendar (RFC 5545) feed, for calendar apps.

Whatever a stored row holds, the feed renders: a session that cannot be (a date out of any sane range) is left
out and logged, an unknown time zone falls back to UTC, and text values lose their control characters.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Alarm, Calendar, Event

from cercle_shared.text import one_line

from ..domain.model import EARLIEST_YEAR, LATEST_YEAR, Session, SessionStatus

log = logging.getLogger(__name__)

PRODID = "-//Cercle//Sessions//FR"
UID_DOMAIN = "sessions.cercle"
REMINDER = timedelta(days=1)
TIMEZONE_MARGIN = timedelta(days=366)
FIRST_DAY, LAST_DAY = date(EARLIEST_YEAR, 1, 1), date(LATEST_YEAR, 12, 31)
_CONTROL_EXCEPT_NEWLINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def uid(session: Session) -> str:
    """Stable for the life of the session, so that calendar apps update the same entry."""
    return f"{session.id}@{UID_DOMAIN}"


def feed(
    name: str,
    sessions: list[Session],
    *,
    generated_at: datetime,
    tentative: frozenset[str] = frozenset(),
    people: Mapping[str, str] | None = None,
) -> bytes:
    """`tentative`: ids of sessions the feed's member is only waitlisted for; `people`: the names of the
    co-facilitators who may be named to peers (member id -> display name)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", one_line(name) or "Cercle")
    shown: list[Session] = []
    for session in sessions:
        try:
            event = _event(session, generated_at, session.id in tentative, people or {})
        except (ValueError, TypeError, OverflowError, AttributeError, KeyError):
            # one unreadable row (stored before the API bounded it) must not take the whole feed down
            log.warning("calendar feed: session %s left out (a stored value cannot be rendered)", session.id)
            continue
        calendar.add_component(event)
        shown.append(session)
    if shown:  # one VTIMEZONE per TZID used, with the rules of the years the sessions span
        first = max(min(s.starts_at for s in shown).date() - TIMEZONE_MARGIN, FIRST_DAY)
        last = min(max(s.ends_at for s in shown).date() + TIMEZONE_MARGIN, LAST_DAY)
        try:
            calendar.add_missing_timezones(first_date=first, last_date=last)
        except (ValueError, OverflowError):
            log.warning("calendar feed: time zone definitions left out", exc_info=True)
    return calendar.to_ical()


def _zone(session: Session) -> ZoneInfo:
    try:
        return ZoneInfo(session.timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return ZoneInfo("UTC")


def _check_range(session: Session) -> None:
    for value in (session.starts_at, session.ends_at):
        if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
            raise ValueError(f"year {value.year} is out of range")


def _event(session: Session, generated_at: datetime, tentative: bool, people: Mapping[str, str]) -> Event:
    _check_range(session)
    zone = _zone(session)
    title = one_line(session.title) or "Rencontre"
    event = Event()
    event.add("uid", uid(session))
    event.add("dtstamp", generated_at.astimezone(UTC))
    event.add("created", session.created_at.astimezone(UTC))
    event.add("last-modified", session.updated_at.astimezone(UTC))
    event.add("sequence", session.sequence)
    event.add("summary", title)
    event.add("dtstart", session.starts_at.astimezone(zone))
    event.add("dtend", session.ends_at.astimezone(zone))
    status = "CANCELLED" if session.status == SessionStatus.CANCELLED else "TENTATIVE" if tentative else "CONFIRMED"
    event.add("status", status)
    location, link = one_line(session.location or ""), one_line(session.link or "")
    where = ", ".join(p for p in (location, link) if p)
    if where:
        event.add("location", where)
    if link and " " not in link:
        event.add("url", link)
    co_facilitators = [people[m] for m in session.co_facilitators if m in people]
    for name in co_facilitators:  # RFC 5545 CONTACT: who to reach about the event (text, no address)
        event.add("contact", one_line(name))
    description = _description(session, co_facilitators)
    if description:
        event.add("description", description)
    if session.status != SessionStatus.CANCELLED:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", title)
        alarm.add("trigger", -REMINDER)
        event.add_component(alarm)
    return event


def _description(session: Session, co_facilitators: list[str]) -> str:
    """The session's description, then who leads it and who is invited (guests are named by the managers)."""
    parts = [_CONTROL_EXCEPT_NEWLINES.sub("", session.description or "").strip()]
    if co_facilitators:
        parts.append("Co-animation : " + ", ".join(one_line(n) for n in co_facilitators))
    guests = [_guest(g) for g in session.guests or ()]
    named = [g for g in guests if g]
    if named:
        parts.append("Invité·es : " + ", ".join(named))
    return "\n\n".join(p for p in parts if p)


def _guest(guest: Any) -> str:
    if not isinstance(guest, Mapping):
        return ""
    name = one_line(str(guest.get("name") or ""))
    expertise = one_line(str(guest.get("expertise") or ""))
    return f"{name} ({expertise})" if name and expertise else name
