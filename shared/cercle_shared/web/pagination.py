"""Keyset (cursor) pagination, the same for every list endpoint.

The cursor is opaque to clients: base64 of the last row's sort value and id. Keyset pages
stay stable while rows are added, unlike offsets.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from ..errors import InvalidInput

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of results; pass `next_cursor` as `cursor` to get the next one (null: last page)."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(sort_value: Any, row_id: Any) -> str:
    if isinstance(sort_value, datetime):
        value: Any = {"dt": sort_value.isoformat()}
    else:
        value = sort_value
    return base64.urlsafe_b64encode(json.dumps([value, row_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except Exception as exc:
        raise InvalidInput("malformed cursor", field="cursor") from exc
    if isinstance(value, dict) and "dt" in value:
        value = datetime.fromisoformat(value["dt"])
    return value, row_id


@dataclass(frozen=True)
class Keyset:
    sort: InstrumentedAttribute
    id: InstrumentedAttribute
    descending: bool = False

    def page(self, session: Session, stmt: Select, *, cursor: str | None, limit: int) -> tuple[Sequence[Any], str | None]:
        """Rows of `stmt` (selecting one entity) after `cursor`, ordered by (sort, id); and the next cursor."""
        if cursor:
            value, row_id = decode_cursor(cursor)
            if self.descending:
                stmt = stmt.where(or_(self.sort < value, and_(self.sort == value, self.id < row_id)))
            else:
                stmt = stmt.where(or_(self.sort > value, and_(self.sort == value, self.id > row_id)))
        order = (self.sort.desc(), self.id.desc()) if self.descending else (self.sort.asc(), self.id.asc())
        rows = session.scalars(stmt.order_by(*order).limit(limit + 1)).all()
        if len(rows) <= limit:
            return rows, None
        last = rows[limit - 1]
        return rows[:limit], encode_cursor(getattr(last, self.sort.key), getattr(last, self.id.key))
