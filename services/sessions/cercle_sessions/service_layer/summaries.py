"""A session's summary note: written once the session has started; every edit is a new version.

A new version updates the languages it is given and keeps the others' text from the previous version; an empty
text removes a language; a note keeps at least one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cercle_shared.errors import InvalidInput
from cercle_shared.principal import Principal

from ..domain.library import Summary
from . import access
from .unit_of_work import SessionsUnitOfWork


@dataclass(frozen=True)
class WriteSummary:
    session_id: str
    texts: dict[str, str] = field(default_factory=dict)  # language -> new text ("" removes it); others are kept


def write_summary(cmd: WriteSummary, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> Summary:
    if not cmd.texts:
        raise InvalidInput("write the note in French, English or both", field="body_fr")
    with uow:
        session = access.session(uow, cmd.session_id, lock=True)  # versions are numbered one writer at a time
        access.ensure_manages(principal, access.community(uow, session.community_id), uow)
        summary = Summary.next_version(
            session,
            uow.summaries.latest(session.id),
            texts=cmd.texts,
            by=principal.member_id or principal.subject,
            at=at,
        )
        uow.summaries.add(summary)
        uow.commit()
        return summary
