"""Registrations to a session: register (a seat, else the waitlist), list, cancel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from ...service_layer import registrations, views
from .. import schemas
from ..deps import ClockDep, Cursor, Limit, PrincipalDep, UowDep

router = APIRouter(prefix="/v1/sessions/{session_id}/registrations", tags=["sessions"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=schemas.RegistrationPublic)
def register(
    session_id: str, body: schemas.RegistrationCreate, principal: PrincipalDep, uow: UowDep, now: ClockDep
) -> schemas.RegistrationPublic:
    """Register yourself (or, as a manager, a member): confirmed while seats last, then waitlisted."""
    cmd = registrations.Register(session_id=session_id, member_id=body.member_id)
    session, registration = registrations.register(cmd, uow, principal, now)
    return schemas.registration_public(session, registration)


@router.get("", response_model=schemas.RegistrationsPage)
def list_registrations(
    session_id: str, principal: PrincipalDep, uow: UowDep, cursor: Cursor = None, limit: Limit = 50
) -> dict[str, Any]:
    """Registrations in arrival order, a page at a time (managers: all; members: their own). Member ids only:
    the session's managers read names in its roster."""
    session, found = views.list_registrations(session_id, uow, principal, cursor=cursor, limit=limit)
    return schemas.page(found, lambda r: schemas.registration_public(session, r))


@router.delete("/{registration_id}", response_model=schemas.RegistrationPublic)
def cancel_registration(
    session_id: str, registration_id: str, principal: PrincipalDep, uow: UowDep, now: ClockDep
) -> schemas.RegistrationPublic:
    """Cancel a registration (its member, or a manager); the first on the waitlist gets the seat."""
    cmd = registrations.CancelRegistration(session_id=session_id, registration_id=registration_id)
    return schemas.RegistrationPublic.model_validate(registrations.cancel_registration(cmd, uow, principal, now))
