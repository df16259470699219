"""Dependencies the routes share, as Annotated aliases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, cast

from fastapi import Depends, Request

from cercle_shared.auth import CurrentPrincipal

from ..service_layer.unit_of_work import InsightsUnitOfWork


def _uow(request: Request) -> InsightsUnitOfWork:
    return cast(InsightsUnitOfWork, request.app.state.runtime.uow())


def _clock(request: Request) -> Callable[[], datetime]:
    # Read at each request, so that tests may swap app.state.clock.
    clock: Callable[[], datetime] = request.app.state.clock
    return clock


UowDep = Annotated[InsightsUnitOfWork, Depends(_uow)]
PrincipalDep = CurrentPrincipal
ClockDep = Annotated[Callable[[], datetime], Depends(_clock)]
