"""Reactions to registration's events: they keep the local replicas of communities, memberships and contacts
(display names), give up the places of a member who leaves, and erase what this service holds of an erased
member.

Each runs inside the idempotent consumer's unit of work (one event, one commit, made by the consumer).
"""

from __future__ import annotations

from cercle_shared.contracts import registration as reg
from cercle_shared.messaging import EventContext
from cercle_shared.text import one_line

from ..domain import model
from .unit_of_work import SessionsUnitOfWork


def community_upserted(
    event: reg.CommunityCreated | reg.CommunityUpdated, uow: SessionsUnitOfWork, ctx: EventContext
) -> None:
    community = uow.communities.get(event.community_id)
    details = {
        "name_fr": event.name_fr,
        "name_en": event.name_en,
        "regions": list(event.regions),
        "province_wide": event.province_wide,
        "cadence": event.cadence,
        "status": model.CommunityStatus(event.status),
        "updated_at": ctx.time,
    }
    if community is None:
        uow.communities.add(model.Community(id=event.community_id, **details))
    else:
        for name, value in details.items():
            setattr(community, name, value)


def community_status_changed(event: reg.CommunityStatusChanged, uow: SessionsUnitOfWork, ctx: EventContext) -> None:
    community = uow.communities.get(event.community_id)
    if community is not None:  # same topic and key as its creation, so it came first
        community.status = model.CommunityStatus(event.status)
        community.updated_at = event.changed_at


def membership_joined(event: reg.MembershipJoined, uow: SessionsUnitOfWork, ctx: EventContext) -> None:
    if event.member_id in uow.erasures:
        return  # the member was erased meanwhile: topics are not ordered with one another
    if uow.memberships.get(event.membership_id) is None:
        uow.memberships.add(
            model.Membership(
                id=event.membership_id,
                community_id=event.community_id,
                member_id=event.member_id,
                role=model.MembershipRole(event.role),
                active=True,
                changed_at=event.joined_at,
            )
        )


def membership_role_changed(event: reg.MembershipRoleChanged, uow: SessionsUnitOfWork, ctx: EventContext) -> None:
    if event.member_id in uow.erasures:
        return
    membership = uow.memberships.get(event.membership_id)
    if membership is None:
        uow.memberships.add(
            model.Membership(
                id=event.membership_id,
                community_id=event.community_id,
                member_id=event.member_id,
                role=model.MembershipRole(event.role),
                active=True,
                changed_at=event.changed_at,
            )
        )
    else:
        membership.role = model.MembershipRole(event.role)
        membership.changed_at = event.changed_at


def membership_left(event: reg.MembershipLeft, uow: SessionsUnitOfWork, ctx: EventContext) -> None:
    """Once she no longer belongs to the community: her feeds of its calendar are revoked, her registrations to
    its sessions ahead (seats and waitlist places) are cancelled and the next in line promoted, as by a
    cancellation by hand; she no longer co-facilitates its sessions ahead."""
    membership = uow.memberships.get(event.membership_id)
    if membership is not None:
        membership.active = False
        membership.changed_at = event.left_at
        uow.flush()
    if uow.memberships.current(event.community_id, event.member_id) is not None:
        return  # still a member through another membership
    uow.feeds.delete_community_feeds_of(event.member_id, event.community_id)
    for session_id in uow.sessions.ahead_for(event.member_id, event.left_at, community_id=event.community_id):
        session = uow.sessions.get_for_update(session_id)  # seats are counted one writer at a time
        if session is not None:
            session.withdraw(event.member_id, event.left_at)
    for session_id in uow.sessions.ids_co_facilitated(event.member_id, event.community_id, event.left_at):
        session = uow.sessions.get_for_update(session_id)
        if session is not None:
            session.drop_co_facilitator(event.member_id)


def contact_changed(event: reg.MemberContactChanged, uow: SessionsUnitOfWork, ctx: EventContext) -> None:
    """Keep the display name (for rosters) and the directory consent (whether peers may see it); no email."""
    if event.member_id in uow.erasures:
        return  # topics are not ordered with one another: a change can arrive after the erasure
    name = one_line(event.display_name)[:200]
    listed = event.consents.get("directory") is True
    contact = uow.contacts.get(event.member_id)
    if contact is None:
        uow.contacts.add(model.MemberContact(event.member_id, name, listed, event.updated_at))
    elif contact.updated_at <= event.updated_at:
        contact.display_name, contact.listed, contact.updated_at = name, listed, event.updated_at


def contact_removed(member_id: str, uow: SessionsUnitOfWork, ctx: EventContext) -> None:
    """A tombstone on the contacts topic: registration erased the contact data, so do we."""
    contact = uow.contacts.get(member_id)
    if contact is not None:
        uow.contacts.delete(contact)


def member_erased(event: reg.MemberErased, uow: SessionsUnitOfWork, ctx: EventContext) -> None:
    """Registrations and votes keep counting under a marker (her places in sessions ahead are given up, the next
    in line promoted); proposals, notes and resources lose their author; memberships, her contact, her
    co-facilitations and calendar feeds go."""
    uow.erasures.record(event.member_id, event.erased_at)
    for membership in uow.memberships.of_member(event.member_id):
        uow.memberships.delete(membership)
    contact = uow.contacts.get(event.member_id)
    if contact is not None:
        uow.contacts.delete(contact)
    for session_id in uow.sessions.ids_with_member(event.member_id):
        session = uow.sessions.get_for_update(session_id)
        if session is not None:
            session.forget_member(event.member_id, event.erased_at)
    # one marker for all of one member's votes: the one-vote-per-theme rule holds
    uow.votes.reassign_voter(event.member_id, model.anonymous_marker())
    uow.themes.forget_proposer(event.member_id)
    uow.resources.forget_sharer(event.member_id)
    uow.summaries.forget_author(event.member_id)
    uow.feeds.delete_of_member(event.member_id)
