"""Summary notes, the resource library and calendar feeds."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from .model import now

RESOURCE_KINDS = ("book", "tool", "template", "article", "model", "link")


@dataclass(eq=False)
class Summary:
    """One version of a session's summary note; each edit adds a version, none is overwritten."""

    id: str
    session_id: str
    version: int
    body_fr: str | None
    body_en: str | None
    published_by: str
    published_at: datetime

    @property
    def languages(self) -> list[str]:
        return [lang for lang, body in (("fr", self.body_fr), ("en", self.body_en)) if body]


@dataclass(eq=False)
class Resource:
    id: str
    community_id: str
    title: str
    kind: str
    language: str
    description: str = ""
    url: str | None = None
    tags: list[str] = field(default_factory=list)
    session_id: str | None = None
    theme_id: str | None = None
    shared_by: str | None = None
    shared_at: datetime = field(default_factory=now)
    search_text: str = ""

    def index(self, *context: str) -> None:
        self.search_text = " " + " ".join(tokens(self.title, self.description, " ".join(self.tags), *context)) + " "


@dataclass(eq=False)
class CalendarFeed:
    """A calendar URL with a secret token; only the token's hash is kept."""

    id: str
    kind: str  # community | member
    token_hash: str
    community_id: str | None = None
    member_id: str | None = None
    created_at: datetime = field(default_factory=now)


_WORD = re.compile(r"[a-z0-9]+")


def normalize(text: str) -> str:
    """Lower case without accents: 'Santé' and 'sante' match."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(*texts: str) -> list[str]:
    seen: dict[str, None] = {}
    for text in texts:
        for word in _WORD.findall(normalize(text or "")):
            seen.setdefault(word, None)
    return list(seen)
