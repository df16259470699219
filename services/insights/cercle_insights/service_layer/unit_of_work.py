"""Insights publishes nothing (yet): a plain unit of work, without an outbox, hence no translation table."""

from __future__ import annotations

from cercle_shared.uow import UnitOfWork

from ..adapters.repository import Replica


class InsightsUnitOfWork(UnitOfWork):
    """The consumer opens one per event and commits the reaction's projection; the views never commit."""

    replica: Replica

    def _open(self) -> None:
        self.replica = Replica(self.db)
