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
from cercle_shared.errors import InvalidInput
from cercle_shared.principal import Principal, Role

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

    @classmethod
    def next_version(
        cls, session: Session, previous: Summary | None, *, texts: dict[str, str], by: str, at: datetime
    ) -> Summary:
        """The next version: the languages in `texts` get their new text (an empty one removes the language),
        the others keep the previous version's. A note keeps at least one language."""
        bodies: dict[str, str | None] = {"fr": None, "en": None}
        if previous is not None:
            bodies = {"fr": previous.body_fr, "en": previous.body_en}
        for language, text in texts.items():
            bodies[language] = text or None
        if not any(bodies.values()):
            raise InvalidInput("write the note in French, English or both", field="body_fr")
        version = previous.version + 1 if previous else 1
        return cls.write(session, version=version, body_fr=bodies["fr"], body_en=bodies["en"], by=by, at=at)

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
    """A calendar URL with a secret token; only the token's hash is kept.

    The feed remembers who asked for it (the owner, with the scope their token had), so that every read is
    checked against the owner's rights of the moment: a member who left the community, or a coordinator whose
    regions no longer cover it, reads nothing more.
    """

    id: str
    kind: FeedKind
    token_hash: str
    community_id: str | None = None
    member_id: str | None = None
    created_at: datetime = field(default_factory=now)
    owner_subject: str | None = None
    owner_role: str | None = None
    owner_regions: list[str] = field(default_factory=list)
    owner_communities: list[str] = field(default_factory=list)

    @classmethod
    def issue(
        cls, kind: FeedKind, at: datetime, *, owner: Principal, community_id: str | None = None
    ) -> tuple[CalendarFeed, str]:
        """A new feed and its secret token (handed out once, never stored)."""
        token = secrets.token_urlsafe(32)
        feed = cls(
            id=new_id(),
            kind=kind,
            token_hash=token_hash(token),
            community_id=community_id,
            member_id=owner.member_id,
            created_at=at,
            owner_subject=owner.subject,
            owner_role=str(owner.role),
            owner_regions=sorted(owner.regions),
            owner_communities=sorted(owner.communities),
        )
        return feed, token

    def owner(self) -> Principal | None:
        """Who the feed reads as; None when that is no longer known (nobody: the feed reads nothing)."""
        try:
            role = Role(self.owner_role) if self.owner_role else Role.MEMBER if self.member_id else None
        except ValueError:
            return None
        if role is None:
            return None
        return Principal(
            subject=self.owner_subject or self.member_id or "",
            role=role,
            regions=frozenset(self.owner_regions or ()),
            communities=frozenset(self.owner_communities or ()),
            member_id=self.member_id,
        )

    def is_owned_by(self, principal: Principal) -> bool:
        if self.member_id is not None:
            return principal.is_member(self.member_id)
        return (
            self.owner_subject is not None and principal.member_id is None and principal.subject == self.owner_subject
        )


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
