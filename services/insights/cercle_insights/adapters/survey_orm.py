"""Tables of surveys (issue 11), on the insights metadata."""

from __future__ import annotations

from .orm import metadata  # noqa: F401


def start_mappers() -> None:
    """Map this feature's domain classes, if it maps any (called once by orm.start_mappers)."""
