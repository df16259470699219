"""Every timed job of insights: only the housekeeping every service runs (its read models change when events arrive)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cercle_shared.jobs import Job
from cercle_shared.service import ServiceRuntime, housekeeping_jobs

from ..config import Settings
from ..service_layer import action_plans
from ..service_layer import health as health
from ..service_layer import surveys as surveys
from .survey_schemas import survey_policy


def jobs(settings: Settings, runtime: ServiceRuntime, clock: Callable[[], datetime]) -> list[Job]:
    return [
        *housekeeping_jobs(runtime),
        Job(
            "assess-community-health",
            every=settings.health_assessment_interval,
            run=lambda: health.assess_communities(runtime.uow, clock(), health.rules_of(settings)),
            timeout=600,
            description="Assess each active community's health; raise or clear its alert (once per change of state).",
        ),
        Job(
            "nudge-action-plans",
            every=settings.action_plan_nudge_interval,
            run=lambda: action_plans.nudge_plans(runtime.uow, settings.action_plan_url, clock()),
            description="Remind members of an overdue follow-up, and ask about their plans 30 and 90 days on.",
        ),
        Job(
            "send-survey-messages",
            every=settings.survey_job_interval,
            run=lambda: surveys.send_survey_messages(runtime.uow(), clock(), survey_policy(settings)),  # type: ignore[arg-type]
            description="Open the feedback survey of each session held the day before, invite whoever consented, "
            "and remind who has not answered.",
        ),
    ]
