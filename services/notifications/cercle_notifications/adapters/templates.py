"""Email texts from Jinja2 templates, one set per language (templates/<language>/<kind>.*.j2)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape

from cercle_shared.text import one_line

from ..domain.model import DEFAULT_LANGUAGE, LANGUAGES

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None = None


class EmailTemplates:
    def __init__(self, directory: Path = TEMPLATE_DIR) -> None:
        self._env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(self, kind: str, language: str | None, context: dict[str, Any]) -> RenderedEmail:
        """The email of `kind` in `language` (French when the language is missing or unknown)."""
        language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        prefix = f"{language}/{kind}"
        subject = self._env.get_template(f"{prefix}.subject.j2").render(context)
        text = self._env.get_template(f"{prefix}.txt.j2").render(context)
        try:
            html = self._env.get_template(f"{prefix}.html.j2").render(context)
        except TemplateNotFound:
            html = None
        # A header must be one line, whatever a title contains.
        return RenderedEmail(subject=one_line(subject), text=text, html=html)
