"""Use cases: check scope and rules, change state, record events — in one transaction."""

from __future__ import annotations

from cercle_shared.contracts import registration as events
from cercle_shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from cercle_shared.principal import Principal, Role

from ..domain import model
from ..domain.regions import RegionCatalog
from . import commands
from .unit_of_work import RegistrationUnitOfWork


def register_member(
    cmd: commands.RegisterMember, uow: RegistrationUnitOfWork, principal: Principal, regions: RegionCatalog
) -> model.Member:
    if cmd.region is not None and cmd.region not in regions:
        raise InvalidInput(f"unknown or disabled region {cmd.region!r}", field="region")
    if not principal.covers_region(cmd.region):
        raise Forbidden("you may only register members in your own regions")
    with uow:
        member = model.Member.register(**cmd.__dict__)
        if uow.members.by_email(member.email) is not None:
            raise Conflict("a member with this email already exists", field="email")
        uow.members.add(member)
        uow.session.flush()
        uow.publish(
            events.MemberRegistered(
                member_id=member.id,
                organization_id=member.organization_id,
                region=member.region,
                language=member.language,
                expertise=member.expertise,
                registered_at=member.registered_at,
            )
        )
        uow.publish(contact_of(member))
        uow.commit()
        return member


def contact_of(member: model.Member) -> events.MemberContactChanged:
    return events.MemberContactChanged(
        member_id=member.id,
        email=member.email,
        display_name=member.display_name,
        language=member.language,
        consents=member.consents,
        updated_at=model.now(),
    )


def create_community(
    cmd: commands.CreateCommunity, uow: RegistrationUnitOfWork, principal: Principal, regions: RegionCatalog
) -> model.Community:
    unknown = [r for r in cmd.regions if r not in regions]
    if unknown:
        raise InvalidInput(f"unknown or disabled regions {unknown}", field="regions")
    if principal.role is not Role.OPERATOR and (
        cmd.province_wide or not all(principal.covers_region(r) for r in cmd.regions)
    ):
        raise Forbidden("coordinators create communities in their own regions only; province-wide needs an operator")
    with uow:
        community = model.Community(id=model.new_id(), **cmd.__dict__)
        uow.communities.add(community)
        uow.session.flush()
        uow.publish(
            events.CommunityCreated(
                community_id=community.id,
                name_fr=community.name_fr,
                name_en=community.name_en,
                domain=community.domain,
                kind=community.kind,
                regions=community.regions,
                province_wide=community.province_wide,
                cadence=community.cadence,
                status=community.status,
                founded_on=community.founded_on,
                created_at=community.created_at,
            )
        )
        uow.commit()
        return community


def join_community(
    cmd: commands.JoinCommunity, uow: RegistrationUnitOfWork, principal: Principal
) -> model.Membership:
    with uow:
        community = uow.communities.get(cmd.community_id)
        if community is None:
            raise NotFound("no such community", field="community_id")
        member = uow.members.get(cmd.member_id)
        if member is None:
            raise InvalidInput("no such member", field="member_id")
        joining_self = principal.is_member(member.id) and cmd.role == "participant"
        if not (joining_self or principal.covers_community(community.id, community.regions)):
            raise Forbidden("you may not manage the members of this community")
        membership = model.join(community, member, cmd.role, uow.memberships.current(community.id, member.id))
        uow.memberships.add(membership)
        uow.session.flush()
        uow.publish(
            events.MembershipJoined(
                membership_id=membership.id,
                community_id=community.id,
                member_id=member.id,
                role=membership.role,
                joined_at=membership.joined_at,
            )
        )
        uow.commit()
        return membership
