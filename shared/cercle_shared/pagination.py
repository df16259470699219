"""Opaque keyset cursors, the same for every list: base64 of the last row's sort value and id.

A cursor is client input: anything that does not decode to a value of the expected kind is a 422
naming `cursor`, never a 500 further down.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from .errors import InvalidInput

MAX_CURSOR_LENGTH = 2048

Scalar = str | int | float | bool | None


def encode_cursor(sort_value: Any, row_id: Any) -> str:
    value: Any = {"dt": sort_value.isoformat()} if isinstance(sort_value, datetime) else sort_value
    return base64.urlsafe_b64encode(json.dumps([value, row_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, Any]:
    """(sort value, row id); a datetime comes back as an aware datetime. Raises InvalidInput(field='cursor')."""
    malformed = InvalidInput("malformed cursor: pass back a next_cursor exactly as received", field="cursor")
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH:
        raise malformed
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError, RecursionError) as exc:
        raise malformed from exc
    if not isinstance(decoded, list) or len(decoded) != 2:
        raise malformed
    value, row_id = decoded
    if isinstance(value, dict):
        raw = value.get("dt") if set(value) == {"dt"} else None
        if not isinstance(raw, str):
            raise malformed
        try:
            value = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise malformed from exc
        if value.tzinfo is None:
            raise malformed
        try:
            value.astimezone(UTC)  # a date at the calendar's edge may not survive the move to UTC
        except (OverflowError, ValueError) as exc:
            raise malformed from exc
    elif not isinstance(value, Scalar):
        raise malformed
    if not isinstance(row_id, str | int) or isinstance(row_id, bool):
        raise malformed
    for part in (value, row_id):
        if isinstance(part, str) and not _bindable(part):
            raise malformed
        if isinstance(part, int) and not isinstance(part, bool) and not -(2**63) <= part < 2**63:
            raise malformed  # no database column holds it
        if isinstance(part, float) and part != part:  # NaN
            raise malformed
    return value, row_id


def _bindable(text: str) -> bool:
    """Strings a database can bind: no NUL (PostgreSQL refuses it), no lone surrogate (not encodable)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
