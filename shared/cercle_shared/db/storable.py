"""Values from events made storable as they are meant, whatever a producer sent within its contract: reactions
clamp what a column cannot hold rather than fail (and retry, and dead-letter) on it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # PostgreSQL takes no NUL; no encoder takes a lone surrogate
_EARLIEST, _LATEST = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
MAX_COUNT = 2**31 - 1  # an INTEGER column on PostgreSQL


def instant(value: datetime) -> datetime:
    """A naive time is read as UTC (the contracts say times are aware); one past the calendar's edge once in UTC
    (year 9999 west of Greenwich, year 1 east of it) is clamped to that edge."""
    if value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return _LATEST if value.year > 1 else _EARLIEST


def count(value: int) -> int:
    """A count as a column holds it: never negative, never past 32 bits."""
    return max(0, min(value, MAX_COUNT))


def text(value: str, column: Column[Any] | None = None) -> str:
    """Free text as any database stores it: no NUL, no lone surrogate (each becomes U+FFFD, the replacement
    character), at most the column's length."""
    storable = _UNSTORABLE.sub("\ufffd", value)
    length = getattr(column.type, "length", None) if column is not None else None
    return storable[:length] if length else storable
