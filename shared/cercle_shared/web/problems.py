"""RFC 9457 problem details for every error a service answers."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import CercleError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://cercle.example/problems/"  # documentation anchor, not fetched


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type_: str | None = None,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_ or TYPE_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    # ("body", "email") -> "email"; ("query", "limit") -> "limit"; ("body", "rows", 3, "email") -> "rows[3].email"
    parts = list(loc[1:] if loc and loc[0] in {"body", "query", "path", "header"} else loc)
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or str(loc[0] if loc else "body")


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for err in exc.errors():
        message = err.get("msg", "invalid")
        field = _field_path(tuple(err.get("loc", ())))
        if err.get("type") == "extra_forbidden":
            message = "unknown field"
        elif err.get("type") == "json_invalid":
            field, message = "body", f"not valid JSON: {err.get('ctx', {}).get('error', message)}"
        errors.append({"field": field, "message": message})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, "Invalid input", detail, instance=request.url.path, errors=errors)


async def _cercle(request: Request, exc: CercleError) -> JSONResponse:
    errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return problem(exc.status, exc.title, exc.detail, instance=request.url.path, errors=errors, headers=headers)


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    titles = {
        400: "Bad request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        409: "Conflict",
        412: "Precondition failed",
        415: "Unsupported media type",
        428: "Precondition required",
    }
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem(
        exc.status_code,
        titles.get(exc.status_code, "Error"),
        detail,
        instance=request.url.path,
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    from sqlalchemy.exc import OperationalError

    if isinstance(exc, OperationalError) and "locked" in str(exc.orig).lower():
        # SQLite's write lock held longer than the busy timeout: busy, not broken.
        return problem(
            503,
            "Service unavailable",
            "the database is busy; try again shortly",
            instance=request.url.path,
            headers={"Retry-After": "2"},
        )
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(
        500, "Internal error", "An unexpected error occurred; it has been logged.", instance=request.url.path
    )


PROBLEM_SCHEMA = {
    "title": "Problem",
    "description": "RFC 9457 problem details.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "A URI naming the kind of problem."},
        "title": {"type": "string", "examples": ["Invalid input"]},
        "status": {"type": "integer", "examples": [422]},
        "detail": {"type": "string", "examples": ["email: value is not a valid email address"]},
        "instance": {"type": "string", "examples": ["/v1/members"]},
        "errors": {
            "type": "array",
            "description": "One entry per field at fault.",
            "items": {
                "type": "object",
                "properties": {"field": {"type": ["string", "null"]}, "message": {"type": "string"}},
                "required": ["field", "message"],
            },
        },
    },
    "additionalProperties": True,
}
_AUTHENTICATED = {
    "400": "Bad request",
    "401": "Missing or invalid bearer token",
    "403": "Outside your scope",
    "404": "Not found",
    "409": "Conflict with the current state, or a stale version",
    "415": "Unsupported media type",
    "422": "Invalid input, each field named",
    "428": "If-Match (or a version) is required",
    "503": "Busy: retry after the Retry-After header's seconds",
}


def document_problems(app: FastAPI, public_paths: set[str]) -> None:
    """Every operation documents the problem answers it may give, as application/problem+json."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            schema["components"]["schemas"].pop(name, None)
        ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                codes = {"503": "Not ready"} if path == "/readyz" else {} if path in public_paths else _AUTHENTICATED
                fastapi_default = "HTTPValidationError" in json.dumps(responses.get("422", {}))
                if fastapi_default and (path not in public_paths or path == "/readyz"):
                    responses.pop("422")  # FastAPI's own validation schema: ours is a problem; a route's own stays
                for code, description in codes.items():
                    responses.setdefault(code, {"description": description, "content": ref})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_problem_handlers(app: FastAPI) -> None:
    # Starlette types a handler as taking any Exception, though it passes each only the class it is registered for.
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(CercleError, _cercle)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
