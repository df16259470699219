"""Reactions to registration's events: they keep the local replica of communities and memberships, and erase
what this service holds of an erased member.

Each runs inside the idempotent consumer's unit of work (one event, one commit, made by the consumer).
"""

from __future__ import annotations

from cercle_shared.contracts import registration as reg
from cercle_shared.messaging import EventContext

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
    membership = uow.memberships.get(event.membership_id)
    if membership is not None:
        membership.active = False
        membership.changed_at = event.left_at


def member_erased(event: reg.MemberErased, uow: SessionsUnitOfWork, ctx: EventContext) -> None:
    """Registrations and votes keep counting under a marker; proposals, notes and resources lose their author;
    memberships and calendar feeds go."""
    uow.erasures.record(event.member_id, event.erased_at)
    for membership in uow.memberships.of_member(event.member_id):
        uow.memberships.delete(membership)
    for session in uow.sessions.with_member(event.member_id):
        session.forget_member(event.member_id)
    # one marker for all of one member's votes: the one-vote-per-theme rule holds
    uow.votes.reassign_voter(event.member_id, model.anonymous_marker())
    uow.themes.forget_proposer(event.member_id)
    uow.resources.forget_sharer(event.member_id)
    uow.summaries.forget_author(event.member_id)
    uow.feeds.delete_of_member(event.member_id)
