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
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    UndefinedError,
    select_autoescape,
)

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

    def page(self, name: str, values: Mapping[str, Any]) -> str:
        """A small HTML page of this service (the unsubscribe confirmation), autoescaped."""
        return self._env.get_template(name).render(values)


# Sample values for previews (GET /v1/templates/{kind}/preview): every variable a template may use, per language.
# A kind whose templates need more adds its own values to SAMPLES_BY_KIND.
SAMPLE: dict[str, dict[str, Any]] = {
    "fr": {
        "display_name": "Marie Tremblay",
        "session_title": "Nature et santé mentale",
        "community_name": "CoP Santé mieux-être au travail — Laval",
        "when": "mardi 3 mars 2026, de 13 h 30 à 16 h (heure de l'Est)",
        "previous_when": "lundi 2 mars 2026, de 9 h à 11 h (heure de l'Est)",
        "mode": "in_person",
        "location": "Maison du citoyen, Laval",
        "position": 2,
        "reason": "Tempête de neige",
        "register_url": "https://cercle.example/sessions/5f1c2d3e",
        "link": "https://cercle.example/connexion#code=exemple",
        "code": "ABCD-EFGH",
        "minutes": 15,
        "proposals_close": "vendredi 2 octobre 2026 à 17 h",
        "voting_opens": "lundi 5 octobre 2026 à 9 h",
        "voting_closes": "vendredi 16 octobre 2026 à 17 h",
        "themes_to_retain": 3,
        "themes": [{"rank": 1, "title": "Nature et santé mentale"}, {"rank": 2, "title": "Retour au travail"}],
        "total_votes": 42,
        "communities": [
            {
                "name": "CoP Santé mieux-être au travail — Laval",
                "summaries": [{"title": "Nature et santé mentale", "url": "https://cercle.example/sessions/5f1c2d3e"}],
                "resources": [{"title": "Guide de retour au travail", "url": None}],
            }
        ],
    },
    "en": {
        "display_name": "Marie Tremblay",
        "session_title": "Nature and mental health",
        "community_name": "Workplace health and wellbeing CoP — Laval",
        "when": "Tuesday, March 3, 2026, 1:30 PM – 4:00 PM (Eastern Time)",
        "previous_when": "Monday, March 2, 2026, 9:00 AM – 11:00 AM (Eastern Time)",
        "mode": "in_person",
        "location": "Maison du citoyen, Laval",
        "position": 2,
        "reason": "Snowstorm",
        "register_url": "https://cercle.example/sessions/5f1c2d3e",
        "link": "https://cercle.example/sign-in#code=example",
        "code": "ABCD-EFGH",
        "minutes": 15,
        "proposals_close": "Friday, October 2, 2026 at 5:00 PM",
        "voting_opens": "Monday, October 5, 2026 at 9:00 AM",
        "voting_closes": "Friday, October 16, 2026 at 5:00 PM",
        "themes_to_retain": 3,
        "themes": [{"rank": 1, "title": "Nature and mental health"}, {"rank": 2, "title": "Return to work"}],
        "total_votes": 42,
        "communities": [
            {
                "name": "Workplace health and wellbeing CoP — Laval",
                "summaries": [{"title": "Nature and mental health", "url": "https://cercle.example/sessions/5f1c2d3e"}],
                "resources": [{"title": "Return-to-work guide", "url": None}],
            }
        ],
    },
}
_PEOPLE = {"confirmed": ["Marie Tremblay", "Jean Roy"], "waitlisted": ["Ana Silva"], "first_timers": ["Jean Roy"]}
SAMPLES_BY_KIND: dict[str, dict[str, dict[str, Any]]] = {
    "session_reminder": {"fr": {"lead": "demain"}, "en": {"lead": "tomorrow"}},
    "facilitator_brief": {"fr": {**_PEOPLE, "guests": ["Invitée : D. Côté"]}, "en": {**_PEOPLE, "guests": ["D. Côté"]}},
    **{
        kind: {
            "fr": {
                "survey_title": "Votre avis sur la rencontre du 3 mars",
                "survey_kind": "session_feedback",
                "answer_url": "https://cercle.example/surveys/answer?t=example",
                "closes": "mardi 17 mars 2026 à 17 h",
            },
            "en": {
                "survey_title": "Your feedback on the March 3 session",
                "survey_kind": "session_feedback",
                "answer_url": "https://cercle.example/surveys/answer?t=example",
                "closes": "Tuesday, March 17, 2026 at 5:00 PM",
            },
        }
        for kind in ("survey_invitation", "survey_reminder")
    },
    "action_plan_nudge": {
        language: {
            "plan_title": title,
            "nudge": "day_30",
            "step": "follow_up_planned",
            "plan_url": "https://cercle.example/action-plans/5f1c2d3e",
        }
        for language, title in (("fr", "Pauses actives au bureau"), ("en", "Active breaks at the office"))
    },
    "community_health_alert": {
        language: {
            "status": "raised",
            "signals": ["attendance_down", "no_new_member"],
            "score": 38,
            "month": month,
        }
        for language, month in (("fr", "novembre 2026"), ("en", "November 2026"))
    },
}
SAMPLE_UNSUBSCRIBE_URL = "https://cercle.example/v1/unsubscribe/sample"


def preview(templates: EmailTemplates, kind: str, language: str) -> RenderedEmail:
    """The email of `kind` with sample data; KeyError when the kind has no templates or lacks sample values."""
    values = {**SAMPLE[language], **SAMPLES_BY_KIND.get(kind, {}).get(language, {})}
    url = SAMPLE_UNSUBSCRIBE_URL if category_of(kind) is not None else None
    try:
        return templates.render(kind, language, values, unsubscribe_url=url)
    except (TemplateNotFound, UndefinedError) as exc:
        raise KeyError(kind) from exc
