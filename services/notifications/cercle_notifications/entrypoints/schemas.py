"""HTTP request and response bodies, and the mapping of domain objects onto them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from cercle_shared.web import StrictModel

from ..domain import model
from ..domain.model import Category, DeliveryStatus, EmailKind

Language = Literal["fr", "en"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


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
    categories: dict[Category, bool] | None = Field(
        default=None,
        description="Categories to turn on (true) or off (false): reminders, announcements, digest. Only those "
        "named change; null or absent: unchanged. Transactional emails (her own registrations, her sign-in link) "
        "belong to none and are always sent.",
        examples=[{"digest": False}],
    )
    digest_day: Weekday | None = Field(
        default=None, description="Day of the weekly digest; null or absent: unchanged (default monday)."
    )


class PreferencesPublic(BaseModel):
    member_id: str
    language: Language | None
    opt_out: list[str]
    version: int = Field(description="0 until the member first saves preferences.")
    categories: dict[str, bool] = Field(
        description="Whether she receives each category (every one is on until she stops it).",
        examples=[{"reminders": True, "announcements": True, "digest": False}],
    )
    digest_day: str = Field(description="Day of her weekly digest.", examples=["monday"])


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


class PreviewPublic(BaseModel):
    """A message as members get it, rendered with sample data."""

    kind: str
    language: Language
    subject: str
    text: str = Field(description="The plain-text part.")
    html: str | None = Field(description="The HTML part.")


def preferences_public(preferences: model.Preferences) -> PreferencesPublic:
    return PreferencesPublic(
        member_id=preferences.member_id,
        language=preferences.language,  # type: ignore[arg-type]  # checked when stored
        opt_out=list(preferences.opt_out),
        version=preferences.version,
        categories={str(category): preferences.wants(category) for category in Category},
        digest_day=preferences.digest_day,
    )


def delivery_public(delivery: model.Delivery) -> DeliveryPublic:
    return DeliveryPublic.model_validate(delivery, from_attributes=True)
