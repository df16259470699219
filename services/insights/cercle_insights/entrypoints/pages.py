"""Server-rendered pages: one Jinja2 environment over the package's templates/, and the headers every page sends."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

templates = Environment(
    loader=PackageLoader("cercle_insights", "templates"),
    autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
    undefined=StrictUndefined,  # a missing value is a bug in the page, not a blank
    trim_blocks=True,
    lstrip_blocks=True,
)

# No script may run (the pages have none); inline styles only; images only inline (SVG) or data: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def render(name: str, **context: Any) -> str:
    return templates.get_template(name).render(**context)


def page_headers() -> dict[str, str]:
    """Figures of a community are not for shared caches, and a signed link in the address must not leak onward."""
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }
