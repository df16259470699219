"""Registration's timed jobs: only the housekeeping every service runs."""

from __future__ import annotations

from cercle_shared.jobs import Job
from cercle_shared.service import ServiceRuntime, housekeeping_jobs

from ..config import Settings
from ..domain.model import Clock


def jobs(settings: Settings, runtime: ServiceRuntime, clock: Clock) -> list[Job]:
    return [*housekeeping_jobs(runtime)]
