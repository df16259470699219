"""Dependencies every route shares, as Annotated aliases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from cercle_shared.auth import CurrentPrincipal

from ..config import Settings
from ..service_layer.unit_of_work import SessionsUnitOfWork


def _uow(request: Request) -> SessionsUnitOfWork:
    uow: SessionsUnitOfWork = request.app.state.runtime.uow()
    return uow


def _now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock  # tests swap it
    return clock()


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


UowDep = Annotated[SessionsUnitOfWork, Depends(_uow)]
PrincipalDep = CurrentPrincipal
ClockDep = Annotated[datetime, Depends(_now)]
SettingsDep = Annotated[Settings, Depends(_settings)]
