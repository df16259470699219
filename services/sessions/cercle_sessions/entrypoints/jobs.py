"""Every timed job of this service."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from cercle_shared.jobs import Job
from cercle_shared.service import ServiceRuntime, housekeeping_jobs

from ..config import Settings
from ..service_layer import program

log = logging.getLogger(__name__)


def jobs(settings: Settings, runtime: ServiceRuntime, clock: Callable[[], datetime]) -> list[Job]:
    def close_due_votes() -> list[str]:
        closed = program.close_due_votes(runtime.uow(), clock())  # type: ignore[arg-type]
        if closed:
            log.info("closed the votes of cycles %s", closed)
        return closed

    return [
        *housekeeping_jobs(runtime),
        Job(
            "close-due-votes",
            every=settings.vote_close_interval,
            run=close_due_votes,
            description="Close and count every vote whose window has ended.",
        ),
    ]
