"""A session's summary note and its versions."""

from __future__ import annotations

from fastapi import APIRouter

from ...service_layer import summaries, views
from .. import schemas
from ..deps import ClockDep, PrincipalDep, UowDep

router = APIRouter(prefix="/v1/sessions/{session_id}/summary", tags=["library"])


@router.put("", response_model=schemas.SummaryPublic)
def write_summary(
    session_id: str, body: schemas.SummaryWrite, principal: PrincipalDep, uow: UowDep, now: ClockDep
) -> schemas.SummaryPublic:
    """Write the session's summary note, or a new version of it (managers, once the session started)."""
    cmd = summaries.WriteSummary(session_id=session_id, body_fr=body.body_fr, body_en=body.body_en)
    return schemas.SummaryPublic.model_validate(summaries.write_summary(cmd, uow, principal, now))


@router.get("", response_model=schemas.SummaryPublic)
def get_summary(session_id: str, principal: PrincipalDep, uow: UowDep) -> schemas.SummaryPublic:
    """The latest version of the session's summary note."""
    return schemas.SummaryPublic.model_validate(views.latest_summary(session_id, uow, principal))


@router.get("/versions", response_model=list[schemas.SummaryPublic])
def summary_versions(session_id: str, principal: PrincipalDep, uow: UowDep) -> list[schemas.SummaryPublic]:
    """Every version of the session's summary note, oldest first."""
    return [schemas.SummaryPublic.model_validate(s) for s in views.summary_versions(session_id, uow, principal)]
