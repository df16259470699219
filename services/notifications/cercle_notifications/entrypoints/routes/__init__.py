"""Every HTTP route of the service."""

from . import deliveries, preferences

ROUTERS = [deliveries.router, preferences.router]
