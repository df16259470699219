"""Keeps the local replica of registration's communities and memberships, from its events only.

Each handler runs inside the idempotent consumer's transaction (one event, one commit).
"""

from __future__ import annotations

from sqlalchemy.orm import Session as DbSession

from cercle_shared.contracts import registration as reg
from cercle_shared.messaging import EventContext

from ..adapters.repository import CommunityRepository, ErasureRepository, MembershipRepository, SessionRepository
from ..domain import model
from . import erasure


def community_upserted(db: DbSession, event: reg.CommunityCreated | reg.CommunityUpdated, ctx: EventContext) -> None:
    communities = CommunityRepository(db)
    community = communities.get(event.community_id)
    details = {
        "name_fr": event.name_fr,
        "name_en": event.name_en,
        "regions": list(event.regions),
        "province_wide": event.province_wide,
        "cadence": event.cadence,
        "status": event.status,
        "updated_at": ctx.time,
    }
    if community is None:
        communities.add(model.Community(id=event.community_id, **details))
    else:
        for name, value in details.items():
            setattr(community, name, value)


def community_status_changed(db: DbSession, event: reg.CommunityStatusChanged, ctx: EventContext) -> None:
    community = CommunityRepository(db).get(event.community_id)
    if community is not None:  # same topic and key as its creation, so it came first
        community.status = event.status
        community.updated_at = event.changed_at


def membership_joined(db: DbSession, event: reg.MembershipJoined, ctx: EventContext) -> None:
    if event.member_id in ErasureRepository(db):
        return  # the member was erased meanwhile: topics are not ordered with one another
    memberships = MembershipRepository(db)
    membership = memberships.get(event.membership_id)
    if membership is None:
        memberships.add(
            model.Membership(
                id=event.membership_id,
                community_id=event.community_id,
                member_id=event.member_id,
                role=event.role,
                active=True,
                changed_at=event.joined_at,
            )
        )


def membership_role_changed(db: DbSession, event: reg.MembershipRoleChanged, ctx: EventContext) -> None:
    if event.member_id in ErasureRepository(db):
        return
    memberships = MembershipRepository(db)
    membership = memberships.get(event.membership_id)
    if membership is None:
        memberships.add(
            model.Membership(
                id=event.membership_id,
                community_id=event.community_id,
                member_id=event.member_id,
                role=event.role,
                active=True,
                changed_at=event.changed_at,
            )
        )
    else:
        membership.role = event.role
        membership.changed_at = event.changed_at


def membership_left(db: DbSession, event: reg.MembershipLeft, ctx: EventContext) -> None:
    membership = MembershipRepository(db).get(event.membership_id)
    if membership is not None:
        membership.active = False
        membership.changed_at = event.left_at


def member_erased(db: DbSession, event: reg.MemberErased, ctx: EventContext) -> None:
    ErasureRepository(db).record(event.member_id, event.erased_at)
    memberships = MembershipRepository(db)
    for membership in memberships.of_member(event.member_id):
        memberships.delete(membership)
    for session in SessionRepository(db).with_member(event.member_id):
        session.forget_member(event.member_id)
    erasure.forget_elsewhere(db, event.member_id)
