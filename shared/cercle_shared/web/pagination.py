"""The page every list endpoint answers (the keyset itself is in `cercle_shared.db.keyset`)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of results; pass `next_cursor` as `cursor` to get the next one (null: last page)."""

    items: list[T]
    next_cursor: str | None = None
