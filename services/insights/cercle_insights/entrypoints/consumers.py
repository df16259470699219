"""Every event insights consumes, and the projection that handles it: the one table to read."""

from __future__ import annotations

from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.messaging import Subscriptions

from ..service_layer import handlers


def subscriptions() -> Subscriptions:
    return (
        Subscriptions()
        .on(reg.CommunityCreated, handlers.community_created)
        .on(reg.CommunityUpdated, handlers.community_updated)
        .on(reg.CommunityStatusChanged, handlers.community_status_changed)
        .on(reg.MembershipJoined, handlers.membership_joined)
        .on(reg.MembershipRoleChanged, handlers.membership_role_changed)
        .on(reg.MembershipLeft, handlers.membership_left)
        .on(reg.MemberErased, handlers.member_erased)
        .on(ses.SessionScheduled, handlers.session_scheduled)
        .on(ses.SessionRescheduled, handlers.session_rescheduled)
        .on(ses.SessionHeld, handlers.session_held)
        .on(ses.SessionCancelled, handlers.session_cancelled)
        .on(ses.SessionAttendanceRecorded, handlers.attendance_recorded)
        .on(ses.SessionRegistrationConfirmed, handlers.registration_confirmed)
        .on(ses.SessionRegistrationWaitlisted, handlers.registration_waitlisted)
        .on(ses.SessionRegistrationPromoted, handlers.registration_promoted)
        .on(ses.SessionRegistrationCancelled, handlers.registration_cancelled)
    )
