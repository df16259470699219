from cercle_shared.uow import UnitOfWork

from ..adapters.repository import DeliveryRepository, PreferencesRepository, Replicas


class NotificationsUnitOfWork(UnitOfWork):
    replicas: Replicas
    preferences: PreferencesRepository
    deliveries: DeliveryRepository

    def _open(self) -> None:
        self.replicas = Replicas(self.session)
        self.preferences = PreferencesRepository(self.session)
        self.deliveries = DeliveryRepository(self.session)
