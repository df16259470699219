"""Events published by the insights service: what notifications emails on its behalf, and community health."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from . import topics
from .base import EventSpec, IntegrationEvent

_MEMBER_ID = Field(description="Opaque member id (never a name or an email).")
_COMMUNITY_ID = Field(description="Community it is about.")

SurveyKind = Literal["session_feedback", "annual"]
NudgeKind = Literal["follow_up_overdue", "day_30", "day_90"]
HealthSignal = Literal[
    "attendance_down",
    "no_new_member",
    "participation_falling",
    "aging",
]


class SurveyInvitationIssued(IntegrationEvent):
    """Insights asks notifications to email a member an invitation to answer a survey (round 0), or a reminder
    (round 1 and after) while she has not answered. Internal: the answer link carries a secret."""

    invitation_id: str = Field(description="Stable id of this invitation or reminder (one email each).")
    survey_id: str = Field(description="The survey.")
    member_id: str = _MEMBER_ID
    kind: SurveyKind = Field(description="Post-session feedback or the annual community survey.")
    round: int = Field(ge=0, description="0 for the invitation, 1 and after for reminders.", examples=[0])
    community_id: str | None = Field(default=None, description="Community surveyed, if one.")
    region: str | None = Field(default=None, description="Region surveyed, for a regional survey.")
    session_id: str | None = Field(default=None, description="Session the feedback is about.")
    title_fr: str = Field(description="Survey title in French.", examples=["Votre avis sur la rencontre du 12 mars"])
    title_en: str = Field(description="Survey title in English.", examples=["Your feedback on the March 12 meeting"])
    answer_url: str = Field(description="Where to answer (carries a one-time token).")
    closes_at: datetime = Field(description="When answers stop being taken.")
    issued_at: datetime = Field(description="When the invitation was issued.")


class ActionPlanNudged(IntegrationEvent):
    """Insights asks notifications to email a member a gentle question about her action plan. Internal."""

    nudge_id: str = Field(description="Stable id of this nudge (one email each).")
    plan_id: str = Field(description="The action plan.")
    member_id: str = _MEMBER_ID
    kind: NudgeKind = Field(description="Follow-up date passed without an update, or 30 / 90 days after the session.")
    plan_title: str = Field(description="The plan's title, as she wrote it.", examples=["Pauses actives au bureau"])
    community_id: str = _COMMUNITY_ID
    session_id: str | None = Field(default=None, description="Session the idea came from, if any.")
    theme_id: str | None = Field(default=None, description="Theme the idea came from, if any.")
    current_step: str = Field(description="The step the plan is at.", examples=["follow_up_planned"])
    plan_url: str = Field(description="Where she updates the plan.")
    nudged_at: datetime = Field(description="When the nudge was issued.")


class CommunityHealthAlerted(IntegrationEvent):
    """A community's health changed state: it shows the decline pattern (raised), or no longer does (cleared).
    Emailed to the coordinators of its regions, once per change. Internal: aggregates only."""

    alert_id: str = Field(description="Stable id of this change.")
    community_id: str = _COMMUNITY_ID
    regions: list[str] = Field(description="Region codes of the community; empty when province-wide.")
    status: Literal["raised", "cleared"] = Field(description="Raised when the decline pattern appears, else cleared.")
    signals: list[HealthSignal] = Field(description="The signals that hold this month.", examples=[["attendance_down"]])
    score: float = Field(ge=0, le=100, description="Health score of the month, 0 to 100.", examples=[42.5])
    month: date = Field(description="First day of the month assessed.", examples=["2026-11-01"])
    alerted_at: datetime = Field(description="When the change was seen.")


def _t(name: str) -> str:
    return f"org.cercle.insights.{name}.v1"


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(_t("survey.invitation_issued"), SurveyInvitationIssued, topics.INSIGHTS_MEMBER_MESSAGES, "member_id"),
    EventSpec(_t("action_plan.nudged"), ActionPlanNudged, topics.INSIGHTS_MEMBER_MESSAGES, "member_id"),
    EventSpec(_t("community.health_alerted"), CommunityHealthAlerted, topics.COMMUNITY_HEALTH, "community_id"),
)
