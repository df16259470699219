"""Every timed job of insights: only the housekeeping every service runs (its read models change when events arrive)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cercle_shared.jobs import Job
from cercle_shared.service import ServiceRuntime, housekeeping_jobs

from ..config import Settings


def jobs(settings: Settings, runtime: ServiceRuntime, clock: Callable[[], datetime]) -> list[Job]:
    return [*housekeeping_jobs(runtime)]
