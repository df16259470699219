"""Every HTTP route of insights: read-only indicators."""

from . import communities, regions

ROUTERS = [communities.router, regions.router]
