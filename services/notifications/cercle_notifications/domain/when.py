"""A session's date and time as a member reads it: in the session's time zone, written the way each language does."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
# Québec's sessions are almost all on Eastern time; name it the way people say it.
_EASTERN = {"America/Toronto", "America/Montreal", "America/New_York", "EST5EDT"}
_ZONE_NAMES = {"fr": "heure de l'Est", "en": "Eastern Time"}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("America/Toronto")


def format_date(moment: datetime, language: str) -> str:
    """fr: « mardi 3 mars 2026 », en: “Tuesday, March 3, 2026”."""
    day, month = _DAYS[language][moment.weekday()], _MONTHS[language][moment.month - 1]
    if language == "en":
        return f"{day}, {month} {moment.day}, {moment.year}"
    first = "1er" if moment.day == 1 else str(moment.day)
    return f"{day} {first} {month} {moment.year}"


def format_month(year: int, month: int, language: str) -> str:
    """« novembre 2026 » / "November 2026"."""
    return f"{_MONTHS[language][month - 1]} {year}"


def format_time(moment: datetime, language: str) -> str:
    """fr: « 13 h 30 », « 9 h »; en: “1:30 PM”, “9:00 AM”."""
    if language == "en":
        hour = moment.hour % 12 or 12
        return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"
    return f"{moment.hour} h" + (f" {moment.minute:02d}" if moment.minute else "")


def zone_label(timezone: str, language: str) -> str:
    return _ZONE_NAMES[language] if timezone in _EASTERN else timezone


def format_span(starts_at: datetime, ends_at: datetime, timezone: str, language: str) -> str:
    """The whole span in the session's zone, e.g. « mardi 3 mars 2026, de 13 h 30 à 16 h (heure de l'Est) »."""
    zone = _zone(timezone)
    try:
        start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
        label = zone_label(timezone, language)
    except OverflowError:  # at the very edge of the calendar the zone's date does not exist: say it in UTC
        start, end, label = starts_at.astimezone(UTC), ends_at.astimezone(UTC), "UTC"
    if start.date() == end.date():
        if language == "en":
            return f"{format_date(start, 'en')}, {format_time(start, 'en')} – {format_time(end, 'en')} ({label})"
        return f"{format_date(start, 'fr')}, de {format_time(start, 'fr')} à {format_time(end, 'fr')} ({label})"
    if language == "en":
        return (
            f"from {format_date(start, 'en')}, {format_time(start, 'en')} "
            f"to {format_date(end, 'en')}, {format_time(end, 'en')} ({label})"
        )
    return (
        f"du {format_date(start, 'fr')}, {format_time(start, 'fr')}, "
        f"au {format_date(end, 'fr')}, {format_time(end, 'fr')} ({label})"
    )
