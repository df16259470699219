"""What routes get injected: the unit of work, the caller, the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from cercle_shared.auth import CurrentPrincipal

from ..service_layer.unit_of_work import NotificationsUnitOfWork


def _uow(request: Request) -> NotificationsUnitOfWork:
    uow: NotificationsUnitOfWork = request.app.state.runtime.uow()
    return uow


def _now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


UowDep = Annotated[NotificationsUnitOfWork, Depends(_uow)]
PrincipalDep = CurrentPrincipal  # 401 without a valid bearer token
ClockDep = Annotated[datetime, Depends(_now)]
