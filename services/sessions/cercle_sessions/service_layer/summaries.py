"""A session's summary note: written once the session has started; every edit is a new version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cercle_shared.errors import InvalidInput
from cercle_shared.principal import Principal

from ..domain.library import Summary
from . import access
from .unit_of_work import SessionsUnitOfWork


@dataclass(frozen=True)
class WriteSummary:
    session_id: str
    body_fr: str | None
    body_en: str | None


def write_summary(cmd: WriteSummary, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> Summary:
    if not (cmd.body_fr or cmd.body_en):
        raise InvalidInput("write the note in French, English or both", field="body_fr")
    with uow:
        session = access.session(uow, cmd.session_id, lock=True)  # versions are numbered one writer at a time
        access.ensure_manages(principal, access.community(uow, session.community_id), uow)
        summary = Summary.write(
            session,
            version=len(uow.summaries.versions(session.id)) + 1,
            body_fr=cmd.body_fr,
            body_en=cmd.body_en,
            by=principal.member_id or principal.subject,
            at=at,
        )
        uow.summaries.add(summary)
        uow.commit()
        return summary
