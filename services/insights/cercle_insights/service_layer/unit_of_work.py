from cercle_shared.uow import UnitOfWork

from ..adapters.repository import Replica


class InsightsUnitOfWork(UnitOfWork):
    """Read side: the HTTP queries open one of these and never commit (only the consumer writes)."""

    replica: Replica

    def _open(self) -> None:
        self.replica = Replica(self.session)
