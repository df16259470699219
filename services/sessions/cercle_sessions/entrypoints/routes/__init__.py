"""Every HTTP route of the service, one module per resource."""

from . import attendance, calendars, me, program, registrations, resources, roster, sessions, summaries

ROUTERS = [
    sessions.router,
    registrations.router,
    roster.router,
    attendance.router,
    program.router,
    summaries.router,
    resources.router,
    calendars.router,
    me.router,
]
