"""The one table of what this service consumes, and the reaction to each."""

from __future__ import annotations

from cercle_shared.contracts import registration as reg_events
from cercle_shared.contracts import sessions as session_events
from cercle_shared.contracts import topics
from cercle_shared.messaging import Subscriptions

from ..service_layer import reactions


def subscriptions() -> Subscriptions:
    return (
        Subscriptions()
        .on(reg_events.MemberContactChanged, reactions.contact_changed)
        .on_tombstone(topics.MEMBER_CONTACTS.name, reactions.contact_removed)
        .on(reg_events.MemberErased, reactions.member_erased)
        .on(reg_events.CommunityCreated, reactions.community_named)
        .on(reg_events.CommunityUpdated, reactions.community_named)
        .on(session_events.SessionScheduled, reactions.session_scheduled)
        .on(session_events.SessionRescheduled, reactions.session_rescheduled)
        .on(session_events.SessionCancelled, reactions.session_cancelled)
        .on(session_events.SessionRegistrationConfirmed, reactions.registration_confirmed)
        .on(session_events.SessionRegistrationWaitlisted, reactions.registration_waitlisted)
        .on(session_events.SessionRegistrationPromoted, reactions.registration_promoted)
        .on(session_events.SessionRegistrationCancelled, reactions.registration_cancelled)
    )
