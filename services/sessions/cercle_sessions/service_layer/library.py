"""The resource library: members and managers share books, tools, templates... with their community."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cercle_shared.errors import InvalidInput
from cercle_shared.principal import Principal

from ..domain.library import Resource
from . import access
from .unit_of_work import SessionsUnitOfWork


@dataclass(frozen=True)
class ShareResource:
    community_id: str
    title: str
    kind: str
    language: str
    description: str = ""
    url: str | None = None
    tags: list[str] = field(default_factory=list)
    session_id: str | None = None
    theme_id: str | None = None


def share_resource(cmd: ShareResource, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> Resource:
    with uow:
        community = access.community(uow, cmd.community_id)
        access.ensure_sees(principal, community, uow)
        context = []
        if cmd.session_id:
            session = uow.sessions.get(cmd.session_id)
            if session is None or session.community_id != community.id:
                raise InvalidInput("no such session in this community", field="session_id")
            context.append(session.title)
        if cmd.theme_id:
            theme = uow.themes.get(cmd.theme_id)
            if theme is None or theme.community_id != community.id:
                raise InvalidInput("no such theme in this community", field="theme_id")
            context.append(theme.title)
        resource = Resource.share(
            community_id=community.id,
            title=cmd.title,
            kind=cmd.kind,
            language=cmd.language,
            description=cmd.description,
            url=cmd.url,
            tags=cmd.tags,
            session_id=cmd.session_id,
            theme_id=cmd.theme_id,
            shared_by=principal.member_id or principal.subject,
            context=context,
            at=at,
        )
        uow.resources.add(resource)
        uow.commit()
        return resource
