"""A session's summary note and its versions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ...service_layer import summaries, views
from .. import schemas
from ..deps import ClockDep, Cursor, Limit, PrincipalDep, UowDep

router = APIRouter(prefix="/v1/sessions/{session_id}/summary", tags=["library"])


@router.put("", response_model=schemas.SummaryPublic)
def write_summary(
    session_id: str, body: schemas.SummaryWrite, principal: PrincipalDep, uow: UowDep, now: ClockDep
) -> schemas.SummaryPublic:
    """Write the session's summary note, or a new version of it (managers, once the session started).

    A new version updates the languages given and keeps the others' text from the previous version (a language
    left out or sent as null is kept; an empty text removes it; at least one language remains). Each version
    records who published it."""
    cmd = summaries.WriteSummary(session_id=session_id, texts=body.texts())
    return schemas.SummaryPublic.model_validate(summaries.write_summary(cmd, uow, principal, now))


@router.get("", response_model=schemas.SummaryPublic)
def get_summary(session_id: str, principal: PrincipalDep, uow: UowDep) -> schemas.SummaryPublic:
    """The latest version of the session's summary note."""
    return schemas.SummaryPublic.model_validate(views.latest_summary(session_id, uow, principal))


@router.get("/versions", response_model=schemas.SummariesPage)
def summary_versions(
    session_id: str, principal: PrincipalDep, uow: UowDep, cursor: Cursor = None, limit: Limit = 50
) -> dict[str, Any]:
    """Every version of the session's summary note, oldest first, a page at a time, each with who published it."""
    found = views.summary_versions(session_id, uow, principal, cursor=cursor, limit=limit)
    return schemas.page(found, schemas.SummaryPublic.model_validate)
