"""HTTP request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from cercle_shared.web import StrictModel

from ..domain.model import KINDS, STATUSES

Language = Literal["fr", "en"]
Kind = Literal[KINDS]  # type: ignore[valid-type]
Status = Literal[STATUSES]  # type: ignore[valid-type]


class PreferencesUpdate(StrictModel):
    language: Language | None = Field(
        default=None, description="Language of emails; null: the language of the member's profile."
    )
    opt_out: list[Kind] = Field(
        default_factory=list,
        max_length=len(KINDS),
        description="Kinds of email the member does not want.",
        examples=[["session_registration_waitlisted"]],
    )


class PreferencesPublic(BaseModel):
    member_id: str
    language: Language | None
    opt_out: list[str]
    version: int = Field(description="0 until the member first saves preferences.")


class DeliveryPublic(BaseModel):
    """One email owed to a member. The address shows only to operators and to the member themselves."""

    id: str
    kind: str
    member_id: str | None = Field(description="Null once the member was erased.")
    anonymized: bool
    session_id: str | None
    status: Status
    reason: str | None = Field(description="Why it was skipped, if it was.")
    language: str | None
    recipient: str | None
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
