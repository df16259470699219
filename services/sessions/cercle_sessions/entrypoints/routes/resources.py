"""The resource library: share with a community, search across the communities you may see."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status

from ...service_layer import library, views
from .. import schemas
from ..deps import ClockDep, Cursor, Limit, PrincipalDep, UowDep

router = APIRouter(prefix="/v1", tags=["library"])


@router.post(
    "/communities/{community_id}/resources",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ResourcePublic,
)
def share_resource(
    community_id: str, body: schemas.ResourceCreate, principal: PrincipalDep, uow: UowDep, now: ClockDep
) -> schemas.ResourcePublic:
    """Share a resource with the community's library, at a session or on a theme (members and managers)."""
    cmd = library.ShareResource(community_id=community_id, **body.model_dump())
    return schemas.ResourcePublic.model_validate(library.share_resource(cmd, uow, principal, now))


@router.get("/resources", response_model=schemas.ResourcesPage)
def search_resources(
    principal: PrincipalDep,
    uow: UowDep,
    q: Annotated[str, Query(max_length=200, description="Words; each must start a word of the resource.")] = "",
    community_id: Annotated[str | None, Query(max_length=64)] = None,
    session_id: Annotated[str | None, Query(max_length=64)] = None,
    theme_id: Annotated[str | None, Query(max_length=64)] = None,
    kind: Literal["book", "tool", "template", "article", "model", "link"] | None = None,
    language: Literal["fr", "en"] | None = None,
    tag: Annotated[str | None, Query(max_length=50)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Search the libraries of the communities you may see, across years and themes (accents and case ignored),
    newest first, a page at a time."""
    found = views.search_resources(
        uow,
        principal,
        q=q,
        community_id=community_id,
        session_id=session_id,
        theme_id=theme_id,
        kind=kind,
        language=language,
        tag=tag,
        cursor=cursor,
        limit=limit,
    )
    return schemas.page(found, schemas.ResourcePublic.model_validate)
