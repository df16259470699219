"""Every HTTP route of the service."""

from . import deliveries, partners, preferences, reminders, templates, unsubscribe

ROUTERS = [
    deliveries.router,
    preferences.router,
    partners.router,
    templates.router,
    unsubscribe.router,
    reminders.router,
]
