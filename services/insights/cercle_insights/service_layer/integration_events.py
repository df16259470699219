"""The one place where this service's domain events become the integration events it publishes."""

from __future__ import annotations

from typing import Any

from cercle_shared.contracts import insights
from cercle_shared.uow import translation_table

from ..domain import action_plans, health
from ..domain import surveys as survey_events

TABLE: dict[type[Any], Any] = {}

# --- surveys ---

TABLE[survey_events.InvitationSent] = lambda e: insights.SurveyInvitationIssued(
    invitation_id=e.message_id,
    survey_id=e.survey_id,
    member_id=e.member_id,
    kind=e.kind,
    round=e.round,
    community_id=e.community_id,
    region=e.region,
    session_id=e.session_id,
    title_fr=e.title_fr,
    title_en=e.title_en,
    answer_url=e.answer_url,
    closes_at=e.closes_at,
    issued_at=e.issued_at,
)

# --- action plans ---

TABLE[action_plans.NudgeIssued] = lambda e: insights.ActionPlanNudged(
    nudge_id=e.nudge_id,
    plan_id=e.plan_id,
    member_id=e.member_id,
    kind=e.kind.value,
    plan_title=e.plan_title,
    community_id=e.community_id,
    session_id=e.session_id,
    theme_id=e.theme_id,
    current_step=e.current_step,
    plan_url=e.plan_url,
    nudged_at=e.at,
)

# --- community health ---

TABLE[health.HealthChanged] = lambda e: insights.CommunityHealthAlerted(
    alert_id=e.alert_id,
    community_id=e.community_id,
    regions=list(e.regions),
    status=e.status,
    signals=list(e.signals),
    score=e.score,
    month=e.month,
    alerted_at=e.at,
)

translate = translation_table(TABLE)
