"""Optimistic concurrency over HTTP: an ETag per version, If-Match on updates, 409 when stale."""

from __future__ import annotations

from ..errors import PreconditionRequired, StaleVersion

MAX_VERSION_DIGITS = 18  # a version is a 64-bit integer column: longer digit strings name no version


def etag(version: int) -> str:
    return f'W/"{version}"'


def expected_version(if_match: str | None, body_version: int | None = None) -> int:
    """The version the client last saw, from If-Match or a `version` field; one of them is required."""
    if if_match:
        raw = if_match.strip().removeprefix("W/").strip('"')
        # str.isdigit() is true of "²" and of other digits int() refuses; a version is a few ASCII digits.
        if raw.isascii() and raw.isdigit() and len(raw) <= MAX_VERSION_DIGITS:
            return int(raw)
        raise StaleVersion("If-Match does not name a version of this resource", field="If-Match")
    if body_version is not None:
        return body_version
    raise PreconditionRequired("send If-Match with the ETag you read (or a version field)", field="If-Match")
