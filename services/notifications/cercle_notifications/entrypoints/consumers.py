"""The one table of what this service consumes."""

from __future__ import annotations

from cercle_shared.contracts import registration as reg_events
from cercle_shared.contracts import sessions as session_events
from cercle_shared.contracts import topics
from cercle_shared.messaging import Subscriptions

from ..service_layer import handlers


def subscriptions() -> Subscriptions:
    return (
        Subscriptions()
        .on(reg_events.MemberContactChanged, handlers.on_contact_changed)
        .on_tombstone(topics.MEMBER_CONTACTS.name, handlers.on_contact_removed)
        .on(reg_events.MemberErased, handlers.on_member_erased)
        .on(reg_events.CommunityCreated, handlers.on_community_named)
        .on(reg_events.CommunityUpdated, handlers.on_community_named)
        .on(session_events.SessionScheduled, handlers.on_session_scheduled)
        .on(session_events.SessionRescheduled, handlers.on_session_rescheduled)
        .on(session_events.SessionCancelled, handlers.on_session_cancelled)
        .on(session_events.SessionRegistrationConfirmed, handlers.on_registration_confirmed)
        .on(session_events.SessionRegistrationWaitlisted, handlers.on_registration_waitlisted)
        .on(session_events.SessionRegistrationPromoted, handlers.on_registration_promoted)
        .on(session_events.SessionRegistrationCancelled, handlers.on_registration_cancelled)
    )
