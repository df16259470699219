"""Email texts from Jinja2 templates and a message catalogue, one set per language.

- `templates/_layout.txt.j2` and `templates/_layout.html.j2`: the shared layout every message extends (greeting,
  signature, why she receives it, the unsubscribe link of its category);
- `templates/<language>/catalogue.yaml`: the words the layout and the partials use, for a translator to read;
- `templates/<language>/<kind>.subject.j2`, `<kind>.txt.j2` (a `body` block) and, optionally, `<kind>.html.j2`;
  without one, the HTML part is the layout around the text body's paragraphs (escaped, links made clickable).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape

from cercle_shared.text import one_line

from ..domain.model import DEFAULT_LANGUAGE, LANGUAGES, category_of

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
CATALOGUE = "catalogue.yaml"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None = None


def paragraphs(text: str) -> list[list[str]]:
    """Paragraphs (separated by blank lines) as lists of lines, for the HTML part made from the text."""
    blocks = re.split(r"\n(?:[ \t]*\n)+", text.strip("\n"))
    return [[line for line in block.splitlines() if line.strip()] for block in blocks if block.strip()]


@cache
def load_catalogue(directory: Path, language: str) -> dict[str, Any]:
    with (directory / language / CATALOGUE).open(encoding="utf-8") as handle:
        catalogue = yaml.safe_load(handle)
    if not isinstance(catalogue, dict):
        raise ValueError(f"{language}/{CATALOGUE} must be a mapping")
    return catalogue


class EmailTemplates:
    def __init__(self, directory: Path = TEMPLATE_DIR) -> None:
        self.directory = directory
        self._env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )
        self._env.filters["paragraphs"] = paragraphs

    @property
    def environment(self) -> Environment:
        return self._env

    def catalogue(self, language: str) -> dict[str, Any]:
        return load_catalogue(self.directory, language)

    def kinds(self, language: str = DEFAULT_LANGUAGE) -> list[str]:
        """Every message kind with templates in `language`."""
        return sorted(p.name.removesuffix(".subject.j2") for p in (self.directory / language).glob("*.subject.j2"))

    def render(
        self,
        kind: str,
        language: str | None,
        context: Mapping[str, Any],
        *,
        unsubscribe_url: str | None = None,
    ) -> RenderedEmail:
        """The email of `kind` in `language` (French when the language is missing or unknown).

        `unsubscribe_url`: the one-click link of the kind's category, written in the footer (non-transactional
        kinds); transactional kinds say why she receives them instead."""
        language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        t = self.catalogue(language)
        category = category_of(kind)
        why = t["why"].get(str(kind)) or t["why"][str(category) if category else "registration"]
        values = {
            **context,
            "t": t,
            "language": language,
            "kind": str(kind),
            "category": str(category) if category else None,
            "why": why,
            "unsubscribe_url": unsubscribe_url,
        }
        prefix = f"{language}/{kind}"
        subject = one_line(self._env.get_template(f"{prefix}.subject.j2").render(values))
        text_template = self._env.get_template(f"{prefix}.txt.j2")
        text = text_template.render(values)
        body = "".join(text_template.blocks["body"](text_template.new_context(values)))
        html_values = {**values, "subject": subject, "text_body": body}
        try:
            html_template = self._env.get_template(f"{prefix}.html.j2")
        except TemplateNotFound:
            html_template = self._env.get_template("_layout.html.j2")
        # A header must be one line, whatever a title contains.
        return RenderedEmail(subject=subject, text=text, html=html_template.render(html_values))
