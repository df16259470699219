"""Insights' unit of work: its projections and its own data (surveys, action plans, health), and the outbox of
what it asks notifications to send."""

from __future__ import annotations

from cercle_shared.uow import PublishingUnitOfWork

from ..adapters.action_plan_repository import ActionPlanRepository
from ..adapters.health_repository import HealthRecords
from ..adapters.repository import Replica
from ..adapters.survey_repository import SurveyRepository
from . import integration_events


class InsightsUnitOfWork(PublishingUnitOfWork):
    """The consumer opens one per event batch and commits the reaction's projection; the views never commit."""

    translate = staticmethod(integration_events.translate)

    replica: Replica
    action_plans: ActionPlanRepository
    surveys: SurveyRepository
    health: HealthRecords

    def _open(self) -> None:
        self.replica = Replica(self.db)
        self.action_plans = ActionPlanRepository(self.db)
        self.surveys = SurveyRepository(self.db)
        self.health = HealthRecords(self.db)
