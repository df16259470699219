"""Keyset (cursor) pagination over SQLAlchemy: pages stay stable while rows are added, unlike offsets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.types import TypeDecorator

from ..errors import InvalidInput
from ..pagination import decode_cursor, encode_cursor


def _python_type(attribute: InstrumentedAttribute[Any]) -> type | None:
    """The column's Python type, or None when unknown (SQLAlchemy 2.1 says `object` where 2.0 raised)."""
    try:
        column_type = attribute.property.columns[0].type
        if isinstance(column_type, TypeDecorator):  # e.g. UtcDateTime: what it stores is its implementation's type
            column_type = column_type.impl_instance
        python_type: type = column_type.python_type
    except (NotImplementedError, AttributeError, IndexError):
        return None
    return None if python_type is object else python_type


def _fits(value: Any, expected: type | None) -> bool:
    if value is None or expected is None:
        return value is None if expected is not None else True
    if expected is datetime:
        return isinstance(value, datetime)
    if expected is date:
        return isinstance(value, str)  # dates travel as ISO strings
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, expected)


@dataclass(frozen=True)
class Keyset:
    sort: InstrumentedAttribute[Any]
    id: InstrumentedAttribute[Any]
    descending: bool = False

    def after(self, cursor: str) -> tuple[Any, Any]:
        """The cursor's position, checked against the types of the sort and id columns."""
        value, row_id = decode_cursor(cursor)
        if not _fits(value, _python_type(self.sort)) or not _fits(row_id, _python_type(self.id)):
            raise InvalidInput("malformed cursor: it does not belong to this list or sort order", field="cursor")
        if _python_type(self.sort) is date and value is not None:
            try:  # a day travels as an ISO string; PostgreSQL compares no DATE with a VARCHAR
                value = date.fromisoformat(value)
            except (TypeError, ValueError) as exc:
                raise InvalidInput("malformed cursor", field="cursor") from exc
        return value, row_id

    def page(
        self, db: Session, stmt: Select[Any], *, cursor: str | None, limit: int
    ) -> tuple[Sequence[Any], str | None]:
        """Rows of `stmt` (selecting one entity) after `cursor`, ordered by (sort, id); and the next cursor."""
        if cursor:
            value, row_id = self.after(cursor)
            if value is None:
                raise InvalidInput("malformed cursor", field="cursor")
            if self.descending:
                stmt = stmt.where(or_(self.sort < value, and_(self.sort == value, self.id < row_id)))
            else:
                stmt = stmt.where(or_(self.sort > value, and_(self.sort == value, self.id > row_id)))
        order = (self.sort.desc(), self.id.desc()) if self.descending else (self.sort.asc(), self.id.asc())
        rows = db.scalars(stmt.order_by(*order).limit(limit + 1)).all()
        if len(rows) <= limit:
            return rows, None
        last = rows[limit - 1]
        sort_value = getattr(last, self.sort.key)
        if isinstance(sort_value, date) and not isinstance(sort_value, datetime):
            sort_value = sort_value.isoformat()
        return rows[:limit], encode_cursor(sort_value, getattr(last, self.id.key))
