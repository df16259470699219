"""One-click unsubscribe (RFC 8058): the signed link every non-transactional email carries. No bearer token: the
link's signature is its credential (mail providers POST to it; members open it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ...adapters.templates import EmailTemplates
from ...domain.model import LANGUAGES, Category
from ...service_layer import unsubscribe
from ..deps import ClockDep, UowDep

router = APIRouter(prefix="/v1/unsubscribe", tags=["unsubscribe"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "No such link (a tampered or truncated one): nothing is revealed",
        "content": {"application/problem+json": {}},
    }
}


def _links(request: Request) -> unsubscribe.UnsubscribeLinks:
    links: unsubscribe.UnsubscribeLinks | None = getattr(request.app.state, "unsubscribe_links", None)
    if links is None:
        links = request.app.state.unsubscribe_links = unsubscribe.links_for(request.app.state.runtime.settings)
    return links


def _page(request: Request, category: Category, language: str, *, done: bool) -> HTMLResponse:
    templates: EmailTemplates | None = getattr(request.app.state, "email_templates", None)
    if templates is None:
        templates = request.app.state.email_templates = EmailTemplates()
    languages = [language, *(other for other in LANGUAGES if other != language)]  # hers first, then the other
    pages = {}
    for lang in languages:
        words = templates.catalogue(lang)
        name = words["categories"][category]
        page = words["unsubscribe_page"]
        pages[lang] = {
            "title": page["title"],
            "confirm": page["confirm"].format(category=name),
            "button": page["button"],
            "done": page["done"].format(category=name),
        }
    html = templates.page("_unsubscribe.html.j2", {"languages": languages, "pages": pages, "done": done})
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@router.get("/{token}", response_class=HTMLResponse, responses=NOT_FOUND)
def confirm_unsubscribe(token: str, request: Request, uow: UowDep) -> HTMLResponse:
    """A page, in her language then the other, asking to confirm (opening a link changes nothing: mail scanners
    open every link)."""
    category, language = unsubscribe.language_of_link(token, _links(request), uow)
    return _page(request, category, language, done=False)


@router.post("/{token}", response_class=HTMLResponse, responses=NOT_FOUND)
def unsubscribe_now(token: str, request: Request, uow: UowDep, now: ClockDep) -> HTMLResponse:
    """Stop exactly the category the link names (the RFC 8058 one-click POST, or the page's button)."""
    done = unsubscribe.unsubscribe(token, _links(request), uow, now)
    return _page(request, done.category, done.language, done=True)
