"""Plain exceptions a service layer raises; the HTTP layer turns each into an RFC 9457 problem.

No framework here, so that domain and service layers may raise them.
"""

from __future__ import annotations


class CercleError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(CercleError):
    status = 422
    title = "Invalid input"


class NotFound(CercleError):
    status = 404
    title = "Not found"


class Conflict(CercleError):
    status = 409
    title = "Conflict"


class StaleVersion(Conflict):
    title = "Stale version"


class Forbidden(CercleError):
    status = 403
    title = "Forbidden"


class PreconditionRequired(CercleError):
    status = 428
    title = "Precondition required"


class TooManyRequests(CercleError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int = 1, field: str | None = None) -> None:
        super().__init__(detail, field=field)
        self.retry_after = retry_after


class Unavailable(CercleError):
    """Busy or briefly away (a locked database): the caller should retry after `retry_after` seconds."""

    status = 503
    title = "Service unavailable"

    def __init__(self, detail: str, *, retry_after: int = 1, field: str | None = None) -> None:
        super().__init__(detail, field=field)
        self.retry_after = retry_after
