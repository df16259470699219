"""Attendance of a session: check-in by the member, or the record a manager keeps."""

from __future__ import annotations

from fastapi import APIRouter

from ...service_layer import attendance
from .. import schemas
from ..deps import ClockDep, PrincipalDep, UowDep

router = APIRouter(prefix="/v1/sessions/{session_id}", tags=["sessions"])


@router.post("/registrations/{registration_id}/check-in", response_model=schemas.AttendancePublic)
def check_in(
    session_id: str, registration_id: str, principal: PrincipalDep, uow: UowDep, now: ClockDep
) -> schemas.AttendancePublic:
    """Check in at the session (from an hour before its start to its end)."""
    cmd = attendance.CheckIn(session_id=session_id, registration_id=registration_id)
    return schemas.attendance_public(attendance.check_in(cmd, uow, principal, now))


@router.put("/attendance", response_model=schemas.AttendancePublic)
def record_attendance(
    session_id: str, body: schemas.AttendanceUpdate, principal: PrincipalDep, uow: UowDep, now: ClockDep
) -> schemas.AttendancePublic:
    """Record who was present or absent, after the start (managers); answers the counts."""
    cmd = attendance.RecordAttendance(session_id=session_id, marks={r.registration_id: r.present for r in body.records})
    return schemas.attendance_public(attendance.record_attendance(cmd, uow, principal, now))
