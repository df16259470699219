"""Every HTTP route of registration, one module per resource."""

from . import auth, communities, erasure, importing, members, memberships, organizations, regions

ROUTERS = [
    regions.router,
    organizations.router,
    importing.router,
    members.router,
    erasure.router,
    communities.router,
    memberships.router,
    auth.router,
]
