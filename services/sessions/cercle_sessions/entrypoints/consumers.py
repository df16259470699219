"""The one table of events this service consumes, and what each one does."""

from __future__ import annotations

from cercle_shared.contracts import registration as reg
from cercle_shared.messaging import Subscriptions

from ..service_layer import replica


def subscriptions() -> Subscriptions:
    return (
        Subscriptions()
        .on(reg.CommunityCreated, replica.community_upserted)
        .on(reg.CommunityUpdated, replica.community_upserted)
        .on(reg.CommunityStatusChanged, replica.community_status_changed)
        .on(reg.MembershipJoined, replica.membership_joined)
        .on(reg.MembershipRoleChanged, replica.membership_role_changed)
        .on(reg.MembershipLeft, replica.membership_left)
        .on(reg.MemberErased, replica.member_erased)
    )
