"""A member's email preferences: the language of their emails, the kinds they do not want, the categories they
receive (reminders, announcements, digest) and the day of their weekly digest."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cercle_shared.domain import check_version
from cercle_shared.principal import Principal

from ..domain import model
from . import access
from .unit_of_work import NotificationsUnitOfWork


@dataclass(frozen=True)
class UpdatePreferences:
    member_id: str
    language: str | None = None
    opt_out: list[str] = field(default_factory=list)
    expected_version: int | None = None  # None: no If-Match, last write wins
    categories: dict[str, bool] | None = None  # only the named categories change; None: unchanged
    digest_day: str | None = None  # None: unchanged


def update_preferences(
    cmd: UpdatePreferences, uow: NotificationsUnitOfWork, principal: Principal, at: datetime | None = None
) -> model.Preferences:
    access.ensure_self_or_operator(principal, cmd.member_id)
    with uow:
        stored = uow.preferences.get_for_update(cmd.member_id)
        if cmd.expected_version is not None:
            check_version(stored.version if stored else 0, cmd.expected_version)
        if stored is None:
            stored = model.Preferences(member_id=cmd.member_id)
            uow.preferences.add(stored)
        stored.change(
            language=cmd.language, opt_out=cmd.opt_out, at=at, categories=cmd.categories, digest_day=cmd.digest_day
        )
        uow.preferences.replaced(stored)
        uow.commit()
        return stored
