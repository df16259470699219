"""What callers ask the notifications service to do (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class UpdatePreferences:
    member_id: str
    language: str | None = None
    opt_out: list[str] = field(default_factory=list)
    expected_version: int | None = None


@dataclass(frozen=True)
class ListDeliveries:
    member_id: str | None = None
    status: str | None = None
    kind: str | None = None
    cursor: str | None = None
    limit: int = 50
