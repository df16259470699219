"""HTTP request and response bodies, and the mapping of domain objects onto them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from cercle_shared.web import StrictModel

from ..domain import model
from ..domain.model import DeliveryStatus, EmailKind

Language = Literal["fr", "en"]


class PreferencesUpdate(StrictModel):
    language: Language | None = Field(
        default=None, description="Language of emails; null: the language of the member's profile."
    )
    opt_out: list[EmailKind] = Field(
        default_factory=list,
        max_length=len(EmailKind),
        description="Kinds of email the member does not want.",
        examples=[[EmailKind.REGISTRATION_WAITLISTED.value]],
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
    # A value a newer version wrote is shown as the string it is, rather than failing the whole list.
    status: DeliveryStatus | str
    reason: str | None = Field(description="Why it was skipped, if it was.")
    language: str | None
    recipient: str | None = Field(
        description="The address the email went to; null once the member's contact is erased."
    )
    attempts: int = Field(description="SMTP attempts made.")
    next_attempt_at: datetime | None
    last_error: str | None = Field(
        description="Why the last attempt failed; or why the email cannot be built from the stored values (an address "
        "that is not one, say), in which case the delivery failed at once and is not retried. Null once the member's "
        "contact is erased (an error may quote the address)."
    )
    created_at: datetime
    sent_at: datetime | None


def preferences_public(preferences: model.Preferences) -> PreferencesPublic:
    return PreferencesPublic.model_validate(preferences, from_attributes=True)


def delivery_public(delivery: model.Delivery) -> DeliveryPublic:
    return DeliveryPublic.model_validate(delivery, from_attributes=True)
