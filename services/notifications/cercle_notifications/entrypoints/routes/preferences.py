from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from cercle_shared.web.etag import etag, expected_version

from ...service_layer import preferences, views
from ..deps import ClockDep, PrincipalDep, UowDep
from ..paths import MemberId
from ..schemas import PreferencesPublic, PreferencesUpdate, preferences_public

router = APIRouter(prefix="/v1/members/{member_id}/preferences", tags=["preferences"])


@router.get("", response_model=PreferencesPublic)
def get_preferences(member_id: MemberId, principal: PrincipalDep, uow: UowDep, response: Response) -> PreferencesPublic:
    """A member's email preferences (the member themselves, or an operator)."""
    stored = views.preferences_of(member_id, uow, principal)
    response.headers["ETag"] = etag(stored.version)
    return preferences_public(stored)


@router.put("", response_model=PreferencesPublic)
def put_preferences(
    member_id: MemberId,
    body: PreferencesUpdate,
    principal: PrincipalDep,
    uow: UowDep,
    now: ClockDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> PreferencesPublic:
    """Replace a member's email preferences; If-Match (optional) guards against overwriting a newer change."""
    cmd = preferences.UpdatePreferences(
        member_id=member_id,
        language=body.language,
        opt_out=[str(kind) for kind in body.opt_out],
        expected_version=expected_version(if_match) if if_match else None,
        categories={str(c): on for c, on in body.categories.items()} if body.categories is not None else None,
        digest_day=body.digest_day,
    )
    stored = preferences.update_preferences(cmd, uow, principal, at=now)
    response.headers["ETag"] = etag(stored.version)
    return preferences_public(stored)
