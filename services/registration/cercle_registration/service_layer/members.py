"""Members: register (consent to processing required), update a profile and consents."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cercle_shared.domain import check_version
from cercle_shared.errors import Conflict, InvalidInput, NotFound
from cercle_shared.principal import Principal

from ..domain import model
from ..domain.regions import RegionCatalog
from . import access
from .unit_of_work import RegistrationUnitOfWork


@dataclass(frozen=True)
class RegisterMember:
    display_name: str
    email: str
    language: str = model.Language.FR
    region: str | None = None
    organization_id: str | None = None
    job_title: str | None = None
    expertise: list[str] = field(default_factory=list)
    consents: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateMember:
    """Profile fields and consents to change; only the keys present change."""

    member_id: str
    expected_version: int
    changes: dict[str, Any]
    consents: dict[str, bool] = field(default_factory=dict)


def register_member(
    cmd: RegisterMember,
    uow: RegistrationUnitOfWork,
    principal: Principal,
    regions: RegionCatalog,
    clock: model.Clock = model.now,
) -> model.Member:
    regions.check(cmd.region)
    access.check_register_member(principal, cmd.region)
    with uow:
        # No SELECT by email first: the unique index refuses a taken email at flush with the same 409 (field
        # "email"), and a registration is one round trip shorter for it.
        member = add_member(cmd, uow, clock(), check_email=False)
        uow.commit()
        return member


def add_member(
    cmd: RegisterMember, uow: RegistrationUnitOfWork, at: datetime, *, check_email: bool = True
) -> model.Member:
    """Register inside an open unit of work (also used, row by row, by the bulk import, which checks the email
    first so that a taken one does not abort its transaction)."""
    member = model.Member.register(
        display_name=cmd.display_name,
        email=cmd.email,
        language=cmd.language,
        region=cmd.region,
        organization_id=cmd.organization_id,
        job_title=cmd.job_title,
        expertise=cmd.expertise,
        consents=cmd.consents,
        at=at,
    )
    check_organization(member.organization_id, uow)
    if check_email and uow.members.by_email(member.email) is not None:
        raise Conflict("a member with this email already exists", field="email")
    uow.members.add(member)
    uow.flush()  # an email lost to a concurrent registration fails here: in an import, as this row's error
    return member


def update_member(
    cmd: UpdateMember,
    uow: RegistrationUnitOfWork,
    principal: Principal,
    regions: RegionCatalog,
    clock: model.Clock = model.now,
) -> model.Member:
    changes = dict(cmd.changes)
    if "region" in changes:
        regions.check(changes["region"])
    with uow:
        member = find_member(uow, cmd.member_id)
        access.check_edit_member(principal, member)
        if cmd.consents:
            access.check_personal(principal, member, "change consents")
        if "region" in changes:
            access.check_move_member(principal, member, changes["region"])
        if "organization_id" in changes:
            check_organization(changes["organization_id"], uow)
        check_version(member.version, cmd.expected_version)

        def email_in_use(email: str) -> bool:
            other = uow.members.by_email(email)
            return other is not None and other is not member

        member.update(changes, cmd.consents, at=clock(), email_in_use=email_in_use)
        uow.commit()
        return member


def find_member(uow: RegistrationUnitOfWork, member_id: str) -> model.Member:
    member = uow.members.get(member_id)
    if member is None:
        raise NotFound("no such member", field="member_id")
    return member


def check_organization(organization_id: str | None, uow: RegistrationUnitOfWork) -> None:
    if organization_id is not None and uow.organizations.get(organization_id) is None:
        raise InvalidInput("no such organization", field="organization_id")
