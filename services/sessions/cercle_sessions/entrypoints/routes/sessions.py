"""A community's sessions (meetings): schedule, read, change, announce, cancel, mark held."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from cercle_shared.web.etag import etag, expected_version

from ...domain.model import Session
from ...service_layer import scheduling, views
from .. import schemas
from ..deps import ClockDep, Cursor, IfMatch, Limit, PrincipalDep, UowDep

router = APIRouter(prefix="/v1", tags=["sessions"])


def _tagged(response: Response, session: Session) -> schemas.SessionPublic:
    response.headers["ETag"] = etag(session.version)
    return schemas.session_public(session)


@router.post(
    "/communities/{community_id}/sessions", status_code=status.HTTP_201_CREATED, response_model=schemas.SessionPublic
)
def schedule_session(
    community_id: str,
    body: schemas.SessionCreate,
    principal: PrincipalDep,
    uow: UowDep,
    now: ClockDep,
    response: Response,
) -> schemas.SessionPublic:
    """Schedule a session (the community's facilitators, its regions' coordinators, operators)."""
    cmd = scheduling.ScheduleSession(community_id=community_id, **body.model_dump())
    return _tagged(response, scheduling.schedule_session(cmd, uow, principal, now))


@router.get("/communities/{community_id}/sessions", response_model=schemas.SessionsPage)
def list_sessions(
    community_id: str, principal: PrincipalDep, uow: UowDep, cursor: Cursor = None, limit: Limit = 50
) -> dict[str, Any]:
    """A community's sessions, in start order, a page at a time (its members and managers; drafts for managers
    only)."""
    found = views.list_sessions(community_id, uow, principal, cursor=cursor, limit=limit)
    return schemas.page(found, schemas.session_public)


@router.get("/sessions/{session_id}", response_model=schemas.SessionPublic)
def get_session(session_id: str, principal: PrincipalDep, uow: UowDep, response: Response) -> schemas.SessionPublic:
    """One session, with its seat counts."""
    return _tagged(response, views.get_session(session_id, uow, principal))


@router.patch("/sessions/{session_id}", response_model=schemas.SessionPublic)
def change_session(
    session_id: str,
    body: schemas.SessionUpdate,
    principal: PrincipalDep,
    uow: UowDep,
    now: ClockDep,
    response: Response,
    if_match: IfMatch = None,
) -> schemas.SessionPublic:
    """Edit or reschedule a session (managers); a move raises its calendar SEQUENCE. If-Match is checked when sent."""
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    expected = expected_version(if_match, body.version) if (if_match or body.version is not None) else None
    cmd = scheduling.ChangeSession(session_id=session_id, changes=changes, expected_version=expected)
    return _tagged(response, scheduling.change_session(cmd, uow, principal, now))


@router.post("/sessions/{session_id}/schedule", response_model=schemas.SessionPublic)
def announce_draft(
    session_id: str, principal: PrincipalDep, uow: UowDep, now: ClockDep, response: Response
) -> schemas.SessionPublic:
    """Announce a draft session: it opens for registration."""
    cmd = scheduling.AnnounceDraft(session_id=session_id)
    return _tagged(response, scheduling.announce_draft(cmd, uow, principal, now))


@router.post("/sessions/{session_id}/cancel", response_model=schemas.SessionPublic)
def cancel_session(
    session_id: str,
    body: schemas.SessionCancel,
    principal: PrincipalDep,
    uow: UowDep,
    now: ClockDep,
    response: Response,
) -> schemas.SessionPublic:
    """Cancel a session (managers)."""
    cmd = scheduling.CancelSession(session_id=session_id, reason=body.reason)
    return _tagged(response, scheduling.cancel_session(cmd, uow, principal, now))


@router.post("/sessions/{session_id}/held", response_model=schemas.SessionPublic)
def mark_held(
    session_id: str, principal: PrincipalDep, uow: UowDep, now: ClockDep, response: Response
) -> schemas.SessionPublic:
    """Mark a session as held, once it has started (managers)."""
    cmd = scheduling.MarkHeld(session_id=session_id)
    return _tagged(response, scheduling.mark_held(cmd, uow, principal, now))
