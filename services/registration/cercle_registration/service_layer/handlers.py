"""Use cases: check scope and rules, change state, record events — in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from cercle_shared.contracts import registration as events
from cercle_shared.contracts import topics
from cercle_shared.domain import check_version
from cercle_shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from cercle_shared.principal import Principal, Role

from ..domain import model
from ..domain.regions import RegionCatalog
from . import commands, scopes
from .unit_of_work import RegistrationUnitOfWork

PROFILE_FIELDS = {"organization_id", "region", "language", "expertise"}  # what partner-visible events carry
CONTACT_FIELDS = {"email", "display_name", "language"}


def check_region(region: str | None, regions: RegionCatalog, field: str = "region") -> None:
    if region is not None and region not in regions:
        raise InvalidInput(f"unknown or disabled region {region!r}", field=field)


def check_regions(codes: Iterable[str], regions: RegionCatalog) -> None:
    unknown = [r for r in codes if r not in regions]
    if unknown:
        raise InvalidInput(f"unknown or disabled regions {unknown}", field="regions")


def check_organization(organization_id: str | None, uow: RegistrationUnitOfWork) -> None:
    if organization_id is not None and uow.organizations.get(organization_id) is None:
        raise InvalidInput("no such organization", field="organization_id")


# --- organizations -------------------------------------------------------------------------------


def create_organization(
    cmd: commands.CreateOrganization, uow: RegistrationUnitOfWork, principal: Principal, regions: RegionCatalog
) -> model.Organization:
    check_region(cmd.region, regions)
    scopes.check_manage_organization(principal, None, cmd.region)
    with uow:
        organization = model.Organization.create(**cmd.__dict__)
        uow.organizations.add(organization)
        uow.session.flush()
        uow.publish(
            events.OrganizationCreated(
                organization_id=organization.id,
                name=organization.name,
                sector=organization.sector,
                region=organization.region,
                size_band=organization.size_band,
                created_at=organization.created_at,
            )
        )
        uow.commit()
        return organization


def update_organization(
    cmd: commands.UpdateOrganization, uow: RegistrationUnitOfWork, principal: Principal, regions: RegionCatalog
) -> model.Organization:
    if "region" in cmd.changes:
        check_region(cmd.changes["region"], regions)
    with uow:
        organization = _organization(uow, cmd.organization_id)
        scopes.check_manage_organization(principal, organization, cmd.changes.get("region", organization.region))
        check_version(organization.version, cmd.expected_version)
        if organization.update(**cmd.changes):
            uow.session.flush()
            uow.publish(
                events.OrganizationUpdated(
                    organization_id=organization.id,
                    name=organization.name,
                    sector=organization.sector,
                    region=organization.region,
                    size_band=organization.size_band,
                    updated_at=model.now(),
                )
            )
        uow.commit()
        return organization


def delete_organization(cmd: commands.DeleteOrganization, uow: RegistrationUnitOfWork, principal: Principal) -> None:
    if not principal.is_operator:
        raise Forbidden("only operators delete organizations")
    with uow:
        organization = _organization(uow, cmd.organization_id)
        if uow.organizations.in_use(organization.id):
            raise Conflict("members still belong to this organization", field="organization_id")
        uow.organizations.delete(organization)
        uow.publish(events.OrganizationDeleted(organization_id=organization.id, deleted_at=model.now()))
        uow.commit()


def _organization(uow: RegistrationUnitOfWork, organization_id: str) -> model.Organization:
    organization = uow.organizations.get(organization_id)
    if organization is None:
        raise NotFound("no such organization", field="organization_id")
    return organization


# --- members -------------------------------------------------------------------------------------


def register_member(
    cmd: commands.RegisterMember, uow: RegistrationUnitOfWork, principal: Principal, regions: RegionCatalog
) -> model.Member:
    check_region(cmd.region, regions)
    if not principal.covers_region(cmd.region):
        raise Forbidden("you may only register members in your own regions")
    with uow:
        member = add_member(cmd, uow)
        uow.commit()
        return member


def add_member(cmd: commands.RegisterMember, uow: RegistrationUnitOfWork) -> model.Member:
    """Register inside an open unit of work (also used, row by row, by the bulk import)."""
    member = model.Member.register(**cmd.__dict__)
    check_organization(member.organization_id, uow)
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
    for change in member.consent_history:
        uow.publish(_consent_changed(change))
    uow.publish(contact_of(member))
    return member


def update_member(
    cmd: commands.UpdateMember, uow: RegistrationUnitOfWork, principal: Principal, regions: RegionCatalog
) -> model.Member:
    changes = dict(cmd.changes)
    if "region" in changes:
        check_region(changes["region"], regions)
    with uow:
        member = _member(uow, cmd.member_id)
        scopes.check_edit_member(principal, member)
        if cmd.consents:
            scopes.check_personal(principal, member, "change consents")
        if "region" in changes and not (principal.is_member(member.id) or principal.covers_region(changes["region"])):
            raise Forbidden("you may only move a member into one of your own regions", field="region")
        if "organization_id" in changes:
            check_organization(changes["organization_id"], uow)
        check_version(member.version, cmd.expected_version)

        changed = member.update_profile(**changes)
        if "email" in changed:
            other = uow.members.by_email(member.email)
            if other is not None and other is not member:
                raise Conflict("a member with this email already exists", field="email")
        at = model.now()
        consent_changes = [c for p, g in cmd.consents.items() if (c := member.set_consent(p, g, at))]
        if not changed and not consent_changes:
            uow.commit()  # nothing to write; ends the transaction without expiring what we return
            return member

        uow.session.flush()
        if changed & PROFILE_FIELDS:
            uow.publish(
                events.MemberProfileUpdated(
                    member_id=member.id,
                    organization_id=member.organization_id,
                    region=member.region,
                    language=member.language,
                    expertise=member.expertise,
                    updated_at=at,
                )
            )
        for change in consent_changes:
            uow.publish(_consent_changed(change))
        if changed & CONTACT_FIELDS or consent_changes:
            uow.publish(contact_of(member))
        uow.commit()
        return member


def erase_member(cmd: commands.EraseMember, uow: RegistrationUnitOfWork, principal: Principal) -> None:
    """Law 25 erasure: no row keeps the member's name or email; other services follow MemberErased."""
    with uow:
        member = _member(uow, cmd.member_id)
        scopes.check_personal(principal, member, "erase a member")
        # Counts over time are the business of the services that consumed the membership events.
        uow.memberships.delete_all_of(member.id)
        uow.members.delete(member)
        uow.session.flush()
        uow.publish(events.MemberErased(member_id=member.id, erased_at=model.now()))
        uow.publish_tombstone(topic=topics.MEMBER_CONTACTS.name, key=member.id, event_id=str(uuid.uuid4()))
        uow.commit()


def contact_of(member: model.Member) -> events.MemberContactChanged:
    return events.MemberContactChanged(
        member_id=member.id,
        email=member.email,
        display_name=member.display_name,
        language=member.language,
        consents=member.consents,
        updated_at=model.now(),
    )


def _consent_changed(change: model.ConsentChange) -> events.MemberConsentChanged:
    return events.MemberConsentChanged(
        member_id=change.member_id, purpose=change.purpose, granted=change.granted, changed_at=change.changed_at
    )


def _member(uow: RegistrationUnitOfWork, member_id: str) -> model.Member:
    member = uow.members.get(member_id)
    if member is None:
        raise NotFound("no such member", field="member_id")
    return member


# --- communities ---------------------------------------------------------------------------------


def create_community(
    cmd: commands.CreateCommunity, uow: RegistrationUnitOfWork, principal: Principal, regions: RegionCatalog
) -> model.Community:
    check_regions(cmd.regions, regions)
    scopes.check_place_community(principal, cmd.regions, cmd.province_wide)
    with uow:
        community = model.Community(id=model.new_id(), **{**cmd.__dict__, "regions": sorted(set(cmd.regions))})
        uow.communities.add(community)
        uow.session.flush()
        uow.publish(
            events.CommunityCreated(
                **_community_details(community),
                founded_on=community.founded_on,
                created_at=community.created_at,
            )
        )
        uow.commit()
        return community


def update_community(
    cmd: commands.UpdateCommunity, uow: RegistrationUnitOfWork, principal: Principal, regions: RegionCatalog
) -> model.Community:
    if "regions" in cmd.changes:
        check_regions(cmd.changes["regions"] or (), regions)
    with uow:
        community = _community(uow, cmd.community_id)
        scopes.check_manage_community(principal, community)
        check_version(community.version, cmd.expected_version)
        changed = community.update(**cmd.changes)
        if changed & {"regions", "province_wide"}:
            scopes.check_place_community(principal, community.regions, community.province_wide)
        if changed:
            uow.session.flush()
            uow.publish(events.CommunityUpdated(**_community_details(community), updated_at=model.now()))
        uow.commit()
        return community


def change_community_status(
    cmd: commands.ChangeCommunityStatus, uow: RegistrationUnitOfWork, principal: Principal
) -> model.Community:
    with uow:
        community = _community(uow, cmd.community_id)
        if principal.role not in (Role.OPERATOR, Role.COORDINATOR):
            raise Forbidden("coordinators and operators change a community's status")
        scopes.check_manage_community(principal, community)
        check_version(community.version, cmd.expected_version)
        if community.change_status(cmd.status):
            uow.session.flush()
            uow.publish(
                events.CommunityStatusChanged(
                    community_id=community.id, status=community.status, changed_at=model.now()
                )
            )
        uow.commit()
        return community


def _community_details(community: model.Community) -> dict:
    return {
        name: getattr(community, name)
        for name in ("name_fr", "name_en", "domain", "kind", "regions", "province_wide", "cadence", "status")
    } | {"community_id": community.id}


def _community(uow: RegistrationUnitOfWork, community_id: str) -> model.Community:
    community = uow.communities.get(community_id)
    if community is None:
        raise NotFound("no such community", field="community_id")
    return community


# --- memberships ---------------------------------------------------------------------------------


def join_community(cmd: commands.JoinCommunity, uow: RegistrationUnitOfWork, principal: Principal) -> model.Membership:
    with uow:
        community = _community(uow, cmd.community_id)
        member = uow.members.get(cmd.member_id)
        if member is None:
            raise InvalidInput("no such member", field="member_id")
        joining_self = principal.is_member(member.id) and cmd.role == "participant"
        if not (joining_self or scopes.may_manage_community(principal, community)):
            raise Forbidden("you may not manage the members of this community")
        membership = add_membership(community, member, cmd.role, uow)
        uow.commit()
        return membership


def add_membership(
    community: model.Community, member: model.Member, role: str, uow: RegistrationUnitOfWork
) -> model.Membership:
    """Join inside an open unit of work (also used by the bulk import)."""
    membership = model.join(community, member, role, uow.memberships.current(community.id, member.id))
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
    return membership


def leave_community(
    cmd: commands.LeaveCommunity, uow: RegistrationUnitOfWork, principal: Principal
) -> model.Membership:
    with uow:
        community = _community(uow, cmd.community_id)
        if not (principal.is_member(cmd.member_id) or scopes.may_manage_community(principal, community)):
            raise Forbidden("you may not manage the members of this community")
        membership = model.leave(
            uow.memberships.current(community.id, cmd.member_id),
            ever_joined=uow.memberships.ever_joined(community.id, cmd.member_id),
        )
        uow.session.flush()
        uow.publish(
            events.MembershipLeft(
                membership_id=membership.id,
                community_id=community.id,
                member_id=membership.member_id,
                left_at=membership.left_at,
            )
        )
        uow.commit()
        return membership


def change_membership_role(
    cmd: commands.ChangeMembershipRole, uow: RegistrationUnitOfWork, principal: Principal
) -> model.Membership:
    with uow:
        community = _community(uow, cmd.community_id)
        scopes.check_manage_community(principal, community)
        membership = uow.memberships.current(community.id, cmd.member_id)
        if membership is None:
            raise NotFound("this member does not currently belong to this community", field="member_id")
        check_version(membership.version, cmd.expected_version)
        if membership.change_role(cmd.role):
            uow.session.flush()
            uow.publish(
                events.MembershipRoleChanged(
                    membership_id=membership.id,
                    community_id=community.id,
                    member_id=membership.member_id,
                    role=membership.role,
                    changed_at=model.now(),
                )
            )
        uow.commit()
        return membership
