"""The unit of work every service layer uses: one database transaction, its outbox included."""

from __future__ import annotations

from typing import Self

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from .contracts import IntegrationEvent
from .errors import CercleError, Conflict, StaleVersion
from .messaging.outbox import Outbox


class UnitOfWork:
    """`with uow: ...; uow.publish(event); uow.commit()` — state and events commit together or not at all.

    Services subclass it to attach their repositories in `_open()`.
    """

    session: Session

    def __init__(self, session_factory: sessionmaker[Session], outbox: Outbox) -> None:
        self._factory = session_factory
        self._outbox = outbox

    def __enter__(self) -> Self:
        self.session = self._factory()
        self._open()
        return self

    def __exit__(self, *exc) -> None:
        self.session.rollback()  # no-op after commit; undoes everything otherwise
        self.session.close()

    def _open(self) -> None:
        """Attach repositories to self.session."""

    def publish(self, event: IntegrationEvent, *, correlation_id: str | None = None) -> None:
        self._outbox.add(self.session, event, correlation_id=correlation_id)

    def publish_tombstone(self, *, topic: str, key: str, event_id: str) -> None:
        self._outbox.add_tombstone(self.session, topic=topic, key=key, event_id=event_id)

    def commit(self) -> None:
        """Commit; a race lost to a concurrent request is a 409 for the caller, never a 500."""
        try:
            self.session.commit()
        except StaleDataError as exc:  # a version_id_col mapping saw another writer first
            raise StaleVersion("this changed while you were changing it; read it again", field="version") from exc
        except IntegrityError as exc:
            raise self._integrity_conflict(str(exc.orig).lower()) from exc

    def _integrity_conflict(self, cause: str) -> CercleError:
        """Name the field behind a unique constraint a concurrent request won; services refine it."""
        return Conflict("this change conflicts with the current state; read it again")
