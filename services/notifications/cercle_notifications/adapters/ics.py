"""An iCalendar (RFC 5545 / iTIP RFC 5546) invitation for one session, attached to reminders, so that it lands in
Outlook and Google calendars; and its cancellation.

The UID and SEQUENCE are the ones the sessions service writes in its calendar feeds (`<session id>@sessions.cercle`,
SEQUENCE raised on every reschedule and on cancellation), so that the invitation and the feed name one event.
"""

from __future__ import annotations

import contextlib
import functools
from datetime import UTC, date, datetime
from email.utils import parseaddr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

from cercle_shared.text import one_line

from ..domain.model import ScheduledSession
from .smtp import Attachment

PRODID = "-//Cercle//Notifications//FR"
UID_DOMAIN = "sessions.cercle"  # as services/sessions' adapters/ical.py


def uid(session_id: str) -> str:
    return f"{session_id}@{UID_DOMAIN}"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@functools.lru_cache(maxsize=64)
def _vtimezone(name: str, year: int) -> Timezone:
    """The zone's rules for the years around the event, computed once (a zone's history takes tens of ms)."""
    return Timezone.from_tzinfo(_zone(name), first_date=date(year - 1, 1, 1), last_date=date(year + 1, 12, 31))


def invitation(
    session: ScheduledSession,
    *,
    method: str,
    organizer: str,
    attendee_email: str,
    attendee_name: str,
    stamped_at: datetime,
) -> bytes:
    """`method`: REQUEST (add or update the event) or CANCEL (remove it)."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported iTIP method {method}")
    zone = _zone(session.timezone)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    event = Event()
    event.add("uid", uid(session.session_id))
    event.add("sequence", session.sequence)
    event.add("dtstamp", stamped_at.astimezone(UTC))
    event.add("dtstart", session.starts_at.astimezone(zone))
    event.add("dtend", session.ends_at.astimezone(zone))
    event.add("summary", one_line(session.title) or "Rencontre")
    if session.location:
        event.add("location", one_line(session.location))
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    name, address = parseaddr(organizer)
    organizer_value = vCalAddress(f"mailto:{address or organizer}")
    if name:
        organizer_value.params["CN"] = vText(one_line(name))
    event.add("organizer", organizer_value)
    attendee = vCalAddress(f"mailto:{attendee_email}")
    attendee.params["CN"] = vText(one_line(attendee_name))
    attendee.params["ROLE"] = vText("REQ-PARTICIPANT")
    attendee.params["PARTSTAT"] = vText("ACCEPTED")  # she registered: nothing to answer
    attendee.params["RSVP"] = vText("FALSE")
    event.add("attendee", attendee)
    calendar.add_component(event)
    with contextlib.suppress(ValueError, OverflowError):  # without VTIMEZONE, clients still read TZID times
        calendar.add_component(_vtimezone(session.timezone if zone.key != "UTC" else "UTC", session.starts_at.year))
    return calendar.to_ical()


def as_attachment(content: bytes, method: str) -> Attachment:
    return Attachment(
        filename="invite.ics" if method == "REQUEST" else "cancel.ics",
        content=content,
        maintype="text",
        subtype="calendar",
        params={"method": method, "charset": "utf-8"},
    )
