"""Every HTTP route of insights."""

from . import action_plans, communities, dashboard, health, regions, reports, surveys

ROUTERS = [
    communities.router,
    regions.router,
    surveys.router,
    action_plans.router,
    health.router,
    reports.router,
    dashboard.router,
]
