"""Previews of the messages members receive, with sample data (operators)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from cercle_shared.errors import Forbidden, NotFound

from ...adapters import templates
from ...domain.model import EmailKind
from ..deps import PrincipalDep
from ..schemas import Language, PreviewPublic

router = APIRouter(prefix="/v1/templates", tags=["templates"])


@router.get("/{kind}/preview", response_model=PreviewPublic)
def preview_template(
    kind: EmailKind, principal: PrincipalDep, request: Request, language: Language = "fr"
) -> PreviewPublic:
    """A message as members get it, with sample data: subject, plain text and HTML (operators)."""
    if not principal.is_operator:
        raise Forbidden("only operators may preview messages")
    engine: templates.EmailTemplates | None = getattr(request.app.state, "email_templates", None)
    if engine is None:
        engine = request.app.state.email_templates = templates.EmailTemplates()
    try:
        rendered = templates.preview(engine, kind, language)
    except KeyError as exc:
        raise NotFound(f"no preview for {kind} (its templates or sample values are missing)") from exc
    return PreviewPublic(kind=kind, language=language, subject=rendered.subject, text=rendered.text, html=rendered.html)
