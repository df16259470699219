"""Projections for community health and the figures by organization, region, theme and year (issue 11).

Like `reactions`, each is applied in the consumer's transaction, never commits, tolerates any order of arrival
(placeholders) and applying a fact twice changes nothing. Values are made storable (a title too long, a NUL...).
An erased member leaves no id here: her profile row goes, her attendance stays counted without her.
"""

from __future__ import annotations

from datetime import datetime

from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.db import storable
from cercle_shared.messaging import EventContext

from ..adapters import health_orm
from ..domain.model import QUEBEC_REGIONS
from .unit_of_work import InsightsUnitOfWork

_ID = health_orm.themes.c.id  # every id column is String(64)


def _id(value: str) -> str:
    return storable.text(value, _ID)


def _region(value: str | None) -> str | None:
    return value if value in QUEBEC_REGIONS else None


# --- members and their employer ----------------------------------------------------------------------------------


def member_registered(event: reg.MemberRegistered, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    _profile(uow, event.member_id, event.organization_id, event.region, storable.instant(event.registered_at))


def member_profile_updated(event: reg.MemberProfileUpdated, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    _profile(uow, event.member_id, event.organization_id, event.region, None)


def _profile(
    uow: InsightsUnitOfWork, member_id: str, organization_id: str | None, region: str | None, at: datetime | None
) -> None:
    if uow.replica.erased_at(member_id) is not None:
        return  # replayed after the erasure: nothing of hers is kept
    organization = _id(organization_id) if organization_id else None
    uow.health.save_profile(_id(member_id), organization, _region(region), at)


def member_erased(event: reg.MemberErased, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    uow.health.forget_member(event.member_id)


# --- organizations -------------------------------------------------------------------------------------------------


def organization_created(event: reg.OrganizationCreated, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    _organization(uow, event)


def organization_updated(event: reg.OrganizationUpdated, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    _organization(uow, event)


def _organization(uow: InsightsUnitOfWork, event: reg.OrganizationCreated | reg.OrganizationUpdated) -> None:
    name = storable.text(event.name, health_orm.organizations.c.name)
    uow.health.save_organization(_id(event.organization_id), name, _region(event.region))


def organization_deleted(event: reg.OrganizationDeleted, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    uow.health.delete_organization(_id(event.organization_id), storable.instant(event.deleted_at))


# --- the program: themes and votes ---------------------------------------------------------------------------------


def theme_proposed(event: ses.ThemeProposed, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    uow.health.theme_proposed(
        _id(event.theme_id),
        _id(event.community_id),
        _id(event.cycle_id),
        storable.text(event.title, health_orm.themes.c.title),
        storable.instant(event.proposed_at),
    )


def theme_merged(event: ses.ThemeMerged, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    uow.health.theme_merged(_id(event.theme_id), _id(event.into_theme_id), _id(event.community_id), _id(event.cycle_id))


def themes_retained(event: ses.ThemesRetained, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    title = health_orm.themes.c.title
    uow.health.themes_retained(
        _id(event.community_id),
        _id(event.cycle_id),
        [
            (_id(t.theme_id), storable.text(t.title, title), storable.count(t.votes), storable.count(t.rank))
            for t in event.themes
        ],
    )


def vote_cast(event: ses.VoteCast, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    uow.health.vote_cast(
        _id(event.vote_id),
        _id(event.theme_id),
        _id(event.community_id),
        _id(event.cycle_id),
        storable.instant(event.cast_at),
    )


# --- sessions: their theme, who attended ---------------------------------------------------------------------------


def session_scheduled(event: ses.SessionScheduled, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    _session_theme(uow, event.session_id, event.community_id, event.theme_id)


def session_held(event: ses.SessionHeld, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    _session_theme(uow, event.session_id, event.community_id, event.theme_id)


def _session_theme(uow: InsightsUnitOfWork, session_id: str, community_id: str, theme_id: str | None) -> None:
    uow.health.session_theme(_id(session_id), _id(community_id), _id(theme_id) if theme_id else None)


def attendance_recorded(event: ses.SessionAttendanceRecorded, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    named = [m for m in dict.fromkeys(event.present_member_ids) if m]
    erased = uow.health.erased_among(named)
    present = [_id(m) for m in named if m not in erased]
    uow.health.set_attendees(_id(event.session_id), _id(event.community_id), present)
