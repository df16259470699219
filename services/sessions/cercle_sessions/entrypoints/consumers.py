"""The one table of events this service consumes, and the reaction to each."""

from __future__ import annotations

from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import topics
from cercle_shared.messaging import Subscriptions

from ..service_layer import reactions


def subscriptions() -> Subscriptions:
    return (
        Subscriptions()
        .on(reg.CommunityCreated, reactions.community_upserted)
        .on(reg.CommunityUpdated, reactions.community_upserted)
        .on(reg.CommunityStatusChanged, reactions.community_status_changed)
        .on(reg.MembershipJoined, reactions.membership_joined)
        .on(reg.MembershipRoleChanged, reactions.membership_role_changed)
        .on(reg.MembershipLeft, reactions.membership_left)
        .on(reg.MemberContactChanged, reactions.contact_changed)
        .on_tombstone(topics.MEMBER_CONTACTS.name, reactions.contact_removed)
        .on(reg.MemberErased, reactions.member_erased)
    )
