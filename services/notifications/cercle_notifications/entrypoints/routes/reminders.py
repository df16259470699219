"""How long before its sessions a community's members are reminded (operators and the community's coordinators)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter
from pydantic import BaseModel, Field

from cercle_shared.web import StrictModel

from ...domain.timed import DEFAULT_REMINDER_OFFSETS, MAX_OFFSETS, CommunityReminders, offset_label
from ...service_layer import reminders
from ..deps import ClockDep, PrincipalDep, UowDep
from ..paths import CommunityId

router = APIRouter(prefix="/v1/communities/{community_id}/reminders", tags=["reminders"])


class ReminderOffsetsUpdate(StrictModel):
    offsets: list[timedelta] = Field(
        max_length=MAX_OFFSETS,
        description="How long before each session a reminder goes, as ISO 8601 durations (whole minutes, 15 minutes "
        "to 60 days), in America/Toronto wall time: P1D before 18:00 is 18:00 the day before. Empty: no reminders.",
        examples=[[offset_label(o) for o in DEFAULT_REMINDER_OFFSETS]],
    )


class ReminderOffsetsPublic(BaseModel):
    community_id: str
    offsets: list[str] = Field(description="ISO 8601 durations, longest first.", examples=[["P7D", "P1D"]])
    updated_at: datetime
    updated_by: str | None = Field(description="Who last changed them; null: the defaults.")


def _public(settings: CommunityReminders) -> ReminderOffsetsPublic:
    return ReminderOffsetsPublic.model_validate(settings, from_attributes=True)


@router.get("", response_model=ReminderOffsetsPublic)
def get_reminder_offsets(community_id: CommunityId, principal: PrincipalDep, uow: UowDep) -> ReminderOffsetsPublic:
    """A community's reminder offsets (the defaults, 7 days and 1 day, until changed)."""
    return _public(reminders.reminder_offsets(community_id, uow, principal))


@router.put("", response_model=ReminderOffsetsPublic)
def put_reminder_offsets(
    community_id: CommunityId, body: ReminderOffsetsUpdate, principal: PrincipalDep, uow: UowDep, now: ClockDep
) -> ReminderOffsetsPublic:
    """Replace a community's reminder offsets; reminders already planned for its upcoming sessions move."""
    cmd = reminders.SetReminderOffsets(community_id=community_id, offsets=body.offsets)
    return _public(reminders.set_reminder_offsets(cmd, uow, principal, now))
