"""Reads answering the API: each checks the caller's scope, then returns domain objects that stay readable after
the transaction."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cercle_shared.errors import InvalidInput, NotFound
from cercle_shared.principal import Principal, Role

from ..adapters.repository import CommunityQuery
from ..domain import model
from . import access
from .unit_of_work import RegistrationUnitOfWork


@dataclass(frozen=True)
class PageOf:
    items: Sequence[Any]
    next_cursor: str | None


@dataclass(frozen=True)
class MemberRecord:
    """Everything registration holds about one member."""

    member: model.Member
    organization: model.Organization | None
    consent_history: list[model.ConsentChange]
    memberships: list[tuple[model.Membership, model.Community | None]]  # every tenure, with its community


@dataclass(frozen=True)
class DirectoryEntry:
    member: model.Member
    role: model.MembershipRole
    organization_name: str | None


def organization(organization_id: str, uow: RegistrationUnitOfWork) -> model.Organization:
    with uow:
        found = uow.organizations.get(organization_id)
        if found is None:
            raise NotFound("no such organization", field="organization_id")
        return found


def organizations(
    uow: RegistrationUnitOfWork, *, region: str | None, sector: str | None, sort: str, cursor: str | None, limit: int
) -> PageOf:
    with uow:
        rows, next_cursor = uow.organizations.page(region=region, sector=sector, sort=sort, cursor=cursor, limit=limit)
        return PageOf(rows, next_cursor)


def member(member_id: str, uow: RegistrationUnitOfWork, principal: Principal) -> model.Member:
    with uow:
        found = uow.members.get(member_id)
        if found is None:
            raise NotFound("no such member", field="member_id")
        access.check_read_member(principal, found, uow)
        return found


def members(
    uow: RegistrationUnitOfWork,
    principal: Principal,
    *,
    region: str | None,
    community_id: str | None,
    organization_id: str | None,
    expertise: str | None,
    sort: str,
    cursor: str | None,
    limit: int,
) -> PageOf:
    query = access.visible_members(
        principal,
        region=region,
        community_id=community_id,
        organization_id=organization_id,
        expertise=expertise,
        sort=sort,
    )
    with uow:
        rows, next_cursor = uow.members.page(query, cursor=cursor, limit=limit)
        return PageOf(rows, next_cursor)


def member_memberships(
    member_id: str, uow: RegistrationUnitOfWork, principal: Principal, *, cursor: str | None, limit: int
) -> PageOf:
    with uow:
        found = uow.members.get(member_id)
        if found is None:
            raise NotFound("no such member", field="member_id")
        access.check_read_member(principal, found, uow)
        rows, next_cursor = uow.memberships.page(member_id=member_id, cursor=cursor, limit=limit)
        if principal.role is Role.FACILITATOR and not principal.is_member(member_id):
            rows = [m for m in rows if m.community_id in principal.communities]
        return PageOf(rows, next_cursor)


def member_export(member_id: str, uow: RegistrationUnitOfWork, principal: Principal) -> MemberRecord:
    """Everything registration holds about one member (Law 25 access right)."""
    with uow:
        found = uow.members.get(member_id)
        if found is None:
            raise NotFound("no such member", field="member_id")
        access.check_personal(principal, found, "export a member's data")
        history = uow.memberships.history_of(member_id)
        communities = uow.communities.get_many(m.community_id for m in history)
        organization = uow.organizations.get(found.organization_id) if found.organization_id else None
        return MemberRecord(
            member=found,
            organization=organization,
            consent_history=list(found.consent_history),
            memberships=[(m, communities.get(m.community_id)) for m in history],
        )


EXPORT_COLUMNS = (
    "id",
    "display_name",
    "email",
    "language",
    "region",
    "organization_id",
    "organization_name",
    "job_title",
    "expertise",
    "consent_directory",
    "consent_email",
    "consent_surveys",
    "registered_at",
)


def _cell(value: str) -> str:
    """Neutralize spreadsheet formulas: a name like '=HYPERLINK(...)' must stay text when the file is opened."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def region_members_csv(region: str | None, uow: RegistrationUnitOfWork, principal: Principal) -> str:
    """The members of a region (or of all the caller's regions), as CSV, for their coordinator."""
    access.check_export_members(principal)
    if principal.is_operator and not region:
        raise InvalidInput("name the region to export", field="region")
    query = access.visible_members(principal, region=region, community_id=None)
    with uow:
        rows = uow.members.all(query)
        names = uow.organizations.names(m.organization_id for m in rows)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        for m in rows:
            cells = [
                m.id,
                m.display_name,
                m.email,
                m.language,
                m.region or "",
                m.organization_id or "",
                names.get(m.organization_id or "", ""),
                m.job_title or "",
                "|".join(m.expertise),
                *("yes" if m.consents.get(p) else "no" for p in ("directory", "email", "surveys")),
                m.registered_at.isoformat(),
            ]
            writer.writerow([_cell(c) for c in cells])
        return out.getvalue()


def community(community_id: str, uow: RegistrationUnitOfWork) -> tuple[model.Community, list[str]]:
    with uow:
        found = uow.communities.get(community_id)
        if found is None:
            raise NotFound("no such community", field="community_id")
        facilitators = uow.memberships.facilitators([found.id])[found.id]
        return (found, facilitators)


def communities(uow: RegistrationUnitOfWork, query: CommunityQuery, *, cursor: str | None, limit: int) -> PageOf:
    with uow:
        rows, next_cursor = uow.communities.page(query, cursor=cursor, limit=limit)
        facilitators = uow.memberships.facilitators(c.id for c in rows)
        return PageOf([(c, facilitators[c.id]) for c in rows], next_cursor)


def community_memberships(
    community_id: str,
    uow: RegistrationUnitOfWork,
    principal: Principal,
    *,
    active: bool | None,
    role: str | None,
    cursor: str | None,
    limit: int,
) -> PageOf:
    with uow:
        found = uow.communities.get(community_id)
        if found is None:
            raise NotFound("no such community", field="community_id")
        access.check_manage_community(principal, found)
        rows, next_cursor = uow.memberships.page(
            community_id=community_id, active=active, role=role, cursor=cursor, limit=limit
        )
        return PageOf(rows, next_cursor)


def directory(
    community_id: str,
    uow: RegistrationUnitOfWork,
    principal: Principal,
    *,
    expertise: str | None,
    cursor: str | None,
    limit: int,
) -> PageOf:
    with uow:
        found = uow.communities.get(community_id)
        if found is None:
            raise NotFound("no such community", field="community_id")
        access.check_see_directory(principal, found, uow)
        rows, next_cursor = uow.members.directory_page(community_id, expertise=expertise, cursor=cursor, limit=limit)
        roles = uow.memberships.current_roles(community_id, (m.id for m in rows))
        names = uow.organizations.names(m.organization_id for m in rows)
        entries = [
            DirectoryEntry(m, roles.get(m.id, model.MembershipRole.PARTICIPANT), names.get(m.organization_id or ""))
            for m in rows
        ]
        return PageOf(entries, next_cursor)
