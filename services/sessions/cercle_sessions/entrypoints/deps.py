from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from ..service_layer.unit_of_work import SessionsUnitOfWork


def _uow(request: Request) -> SessionsUnitOfWork:
    return request.app.state.uow_factory()


def _now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


Uow = Annotated[SessionsUnitOfWork, Depends(_uow)]
Now = Annotated[datetime, Depends(_now)]
