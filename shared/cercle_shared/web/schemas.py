"""Request-body building blocks every service's schemas use."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from ..text import check_single_line


class StrictModel(BaseModel):
    """Base of every request body: an unknown field is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _single_line(value: str) -> str:
    check_single_line(value)
    return value


SingleLine = Annotated[str, AfterValidator(_single_line)]
"""A one-line text (a name, a title, a place): control characters such as CR and LF are refused, since such a
value ends up in email headers, calendar lines and CSV cells."""

_CONTROL_EXCEPT_NEWLINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _multi_line(value: str) -> str:
    if _CONTROL_EXCEPT_NEWLINES.search(value):
        raise ValueError("control characters are not allowed")
    return value


MultiLine = Annotated[str, AfterValidator(_multi_line)]
"""A free text that may span lines (a description, a note); other control characters are refused."""


LATEST_YEAR = 2200


def _sane_datetime(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("give a time zone offset (e.g. -05:00 or Z)")
    if not 1970 <= value.year <= LATEST_YEAR:
        raise ValueError(f"the year must be between 1970 and {LATEST_YEAR}")
    return value


SaneDateTime = Annotated[datetime, AfterValidator(_sane_datetime)]
"""An aware date and time within 1970–2200: a session in year 9999 is a typo, and breaks calendar arithmetic."""


def _sane_date(value: date) -> date:
    if not 1970 <= value.year <= LATEST_YEAR:
        raise ValueError(f"the year must be between 1970 and {LATEST_YEAR}")
    return value


SaneDate = Annotated[date, AfterValidator(_sane_date)]
"""A day within the years SaneDateTime allows (1970–2200)."""
