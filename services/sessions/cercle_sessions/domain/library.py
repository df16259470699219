"""Summary notes, the resource library and calendar feeds."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from cercle_shared.domain import Aggregate

from . import events
from .model import Session, new_id, now


class ResourceKind(StrEnum):
    BOOK = "book"
    TOOL = "tool"
    TEMPLATE = "template"
    ARTICLE = "article"
    MODEL = "model"
    LINK = "link"


class FeedKind(StrEnum):
    COMMUNITY = "community"
    MEMBER = "member"


@dataclass(eq=False)
class Summary(Aggregate):
    """One version of a session's summary note; each edit adds a version, none is overwritten."""

    id: str
    session_id: str
    version: int
    body_fr: str | None
    body_en: str | None
    published_by: str
    published_at: datetime

    @classmethod
    def write(
        cls, session: Session, *, version: int, body_fr: str | None, body_en: str | None, by: str, at: datetime
    ) -> Summary:
        """Version `version` of the session's note, once the session has started."""
        session.ensure_started(at, "a summary note")
        summary = cls(
            id=new_id(),
            session_id=session.id,
            version=version,
            body_fr=body_fr,
            body_en=body_en,
            published_by=by,
            published_at=at,
        )
        summary.record(
            events.SummaryWritten(
                session_id=session.id,
                community_id=session.community_id,
                version=version,
                languages=tuple(summary.languages),
                written_at=at,
            )
        )
        return summary

    @property
    def languages(self) -> list[str]:
        return [lang for lang, body in (("fr", self.body_fr), ("en", self.body_en)) if body]


@dataclass(eq=False)
class Resource(Aggregate):
    id: str
    community_id: str
    title: str
    kind: ResourceKind
    language: str
    description: str = ""
    url: str | None = None
    tags: list[str] = field(default_factory=list)
    session_id: str | None = None
    theme_id: str | None = None
    shared_by: str | None = None
    shared_at: datetime = field(default_factory=now)
    search_text: str = ""

    @classmethod
    def share(
        cls,
        *,
        community_id: str,
        title: str,
        kind: str,
        language: str,
        description: str = "",
        url: str | None = None,
        tags: Iterable[str] = (),
        session_id: str | None = None,
        theme_id: str | None = None,
        shared_by: str | None = None,
        context: Iterable[str] = (),
        at: datetime,
    ) -> Resource:
        """A resource added to a community's library; `context` (its session's or theme's title) helps find it."""
        resource = cls(
            id=new_id(),
            community_id=community_id,
            title=title,
            kind=ResourceKind(kind),
            language=language,
            description=description,
            url=url,
            tags=sorted({t.strip().lower() for t in tags if t.strip()}),
            session_id=session_id,
            theme_id=theme_id,
            shared_by=shared_by,
            shared_at=at,
        )
        resource.index(*context)
        resource.record(
            events.ResourceShared(
                resource_id=resource.id,
                community_id=resource.community_id,
                session_id=resource.session_id,
                theme_id=resource.theme_id,
                kind=str(resource.kind),
                title=resource.title,
                language=resource.language,
                tags=tuple(resource.tags),
                shared_at=at,
            )
        )
        return resource

    def index(self, *context: str) -> None:
        self.search_text = " " + " ".join(tokens(self.title, self.description, " ".join(self.tags), *context)) + " "


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(eq=False)
class CalendarFeed(Aggregate):
    """A calendar URL with a secret token; only the token's hash is kept."""

    id: str
    kind: FeedKind
    token_hash: str
    community_id: str | None = None
    member_id: str | None = None
    created_at: datetime = field(default_factory=now)

    @classmethod
    def issue(
        cls, kind: FeedKind, at: datetime, *, community_id: str | None = None, member_id: str | None = None
    ) -> tuple[CalendarFeed, str]:
        """A new feed and its secret token (handed out once, never stored)."""
        token = secrets.token_urlsafe(32)
        feed = cls(
            id=new_id(),
            kind=kind,
            token_hash=token_hash(token),
            community_id=community_id,
            member_id=member_id,
            created_at=at,
        )
        return feed, token


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
