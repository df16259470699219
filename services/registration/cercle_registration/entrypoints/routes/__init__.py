"""Every HTTP route of registration, one module per resource."""

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from . import communities, erasure, importing, members, memberships, organizations, regions

ROUTERS = [
    regions.router,
    organizations.router,
    importing.router,
    members.router,
    erasure.router,
    communities.router,
    memberships.router,
]


def keep_declared_problems(app: FastAPI) -> None:
    """Keep the problem answers a route documents itself (the import's 422 with its per-row report) in the OpenAPI
    document: the shared documentation replaces every 422 with the generic one."""
    documented = app.openapi

    def openapi() -> dict[str, Any]:
        schema = documented()
        for route in (r for router in ROUTERS for r in router.routes):
            if not isinstance(route, APIRoute):
                continue
            for code, declared in route.responses.items():
                if str(code).startswith("4") and "content" in declared:
                    for method in route.methods:
                        schema["paths"][route.path_format][method.lower()]["responses"][str(code)] = declared
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
