"""Database plumbing: engines, the outbox and inbox tables, Alembic helpers."""

from .engine import make_engine, make_session_factory
from .tables import messaging_tables
from .types import StrEnumType, UtcDateTime

__all__ = ["StrEnumType", "UtcDateTime", "make_engine", "make_session_factory", "messaging_tables"]
