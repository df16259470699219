"""Every HTTP route of the service."""

from . import deliveries, partners, preferences, templates, unsubscribe

ROUTERS = [deliveries.router, preferences.router, partners.router, templates.router, unsubscribe.router]
