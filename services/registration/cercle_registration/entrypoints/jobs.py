"""Registration's timed jobs: the housekeeping every service runs, and the undo of imports left midway."""

from __future__ import annotations

from datetime import timedelta

from cercle_shared.jobs import Job
from cercle_shared.service import ServiceRuntime, housekeeping_jobs

from ..config import Settings
from ..domain.model import Clock
from ..service_layer import importing, sign_in


def jobs(settings: Settings, runtime: ServiceRuntime, clock: Clock) -> list[Job]:
    def undo_interrupted_imports() -> list[str]:
        return importing.undo_interrupted_imports(
            runtime.uow(),  # type: ignore[arg-type]
            stalled_after=timedelta(seconds=settings.import_stall_timeout),
            clock=clock,
        )

    def purge_sign_in() -> int:
        window = timedelta(seconds=settings.sign_in_rate_window)
        return sign_in.purge(runtime.uow(), window, clock)  # type: ignore[arg-type]

    return [
        *housekeeping_jobs(runtime),
        Job(
            "undo-interrupted-imports",
            every=settings.import_check_interval,
            run=undo_interrupted_imports,
            description="Erase what an import left midway wrote (its process stopped): all of an import or none.",
        ),
        Job(
            "purge-sign-in",
            every=settings.sign_in_purge_interval,
            run=purge_sign_in,
            description="Delete counted sign-in attempts out of their window, and codes and refresh tokens expired "
            "for a day.",
        ),
    ]
