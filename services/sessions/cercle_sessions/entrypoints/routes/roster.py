"""Rosters: registrations with the members' names, and CSV exports of registrations and attendance, for the
people who run the sessions (operators, the community's coordinators and facilitators). Members and partners
never see others' names here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from ...service_layer import views
from .. import schemas
from ..deps import Cursor, Limit, PrincipalDep, UowDep

router = APIRouter(prefix="/v1", tags=["sessions"])

CSV: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "One line per registration: " + ", ".join(views.ROSTER_COLUMNS) + ". Cells that a "
        "spreadsheet would read as a formula are prefixed with a quote.",
    }
}


def _download(text: str, name: str) -> Response:
    return Response(
        text, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/sessions/{session_id}/roster", response_model=schemas.RosterPage)
def session_roster(
    session_id: str, principal: PrincipalDep, uow: UowDep, cursor: Cursor = None, limit: Limit = 50
) -> dict[str, Any]:
    """A session's registrations with names, status, waitlist position and attendance, in arrival order
    (the community's managers)."""
    return schemas.page(views.roster(session_id, uow, principal, cursor=cursor, limit=limit), schemas.roster_public)


@router.get("/sessions/{session_id}/roster.csv", response_class=Response, responses=CSV)
def session_roster_csv(session_id: str, principal: PrincipalDep, uow: UowDep) -> Response:
    """A session's registrations and attendance, with names, as a CSV download (the community's managers)."""
    return _download(views.session_roster_csv(session_id, uow, principal), f"roster-{session_id}.csv")


@router.get("/communities/{community_id}/roster", response_model=schemas.RosterPage)
def community_roster(
    community_id: str, principal: PrincipalDep, uow: UowDep, cursor: Cursor = None, limit: Limit = 50
) -> dict[str, Any]:
    """Every registration to the community's sessions with names and attendance, in the order they were made
    (the community's managers)."""
    found = views.community_roster(community_id, uow, principal, cursor=cursor, limit=limit)
    return schemas.page(found, schemas.roster_public)


@router.get("/communities/{community_id}/roster.csv", response_class=Response, responses=CSV)
def community_roster_csv(community_id: str, principal: PrincipalDep, uow: UowDep) -> Response:
    """Every registration and attendance of the community's sessions, session by session, with names, as a CSV
    download (the community's managers)."""
    return _download(views.community_roster_csv(community_id, uow, principal), f"roster-{community_id}.csv")
