"""Sessions as an iCalendar (RFC 5545) feed, for calendar apps."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event

from ..domain.model import Session, SessionStatus

PRODID = "-//Cercle//Sessions//FR"
UID_DOMAIN = "sessions.cercle"
REMINDER = timedelta(days=1)


def uid(session: Session) -> str:
    """Stable for the life of the session, so that calendar apps update the same entry."""
    return f"{session.id}@{UID_DOMAIN}"


def feed(
    name: str, sessions: list[Session], *, generated_at: datetime, tentative: frozenset[str] = frozenset()
) -> bytes:
    """`tentative`: ids of sessions the feed's member is only waitlisted for."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for session in sessions:
        calendar.add_component(_event(session, generated_at, session.id in tentative))
    if sessions:  # one VTIMEZONE per TZID used, with the rules of the years the sessions span
        calendar.add_missing_timezones(
            first_date=min(s.starts_at for s in sessions).date() - timedelta(days=366),
            last_date=max(s.ends_at for s in sessions).date() + timedelta(days=366),
        )
    return calendar.to_ical()


def _event(session: Session, generated_at: datetime, tentative: bool) -> Event:
    zone = ZoneInfo(session.timezone)
    event = Event()
    event.add("uid", uid(session))
    event.add("dtstamp", generated_at)
    event.add("created", session.created_at)
    event.add("last-modified", session.updated_at)
    event.add("sequence", session.sequence)
    event.add("summary", session.title)
    event.add("dtstart", session.starts_at.astimezone(zone))
    event.add("dtend", session.ends_at.astimezone(zone))
    status = "CANCELLED" if session.status == SessionStatus.CANCELLED else "TENTATIVE" if tentative else "CONFIRMED"
    event.add("status", status)
    where = ", ".join(p for p in (session.location, session.link) if p)
    if where:
        event.add("location", where)
    if session.link:
        event.add("url", session.link)
    if session.description:
        event.add("description", session.description)
    if session.status != SessionStatus.CANCELLED:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", session.title)
        alarm.add("trigger", -REMINDER)
        event.add_component(alarm)
    return event
