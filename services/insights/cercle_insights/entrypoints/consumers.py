"""Every event insights consumes, and the reaction (a projection) that handles it: the one table to read."""

from __future__ import annotations

from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.messaging import EventContext, Subscriptions

from ..service_layer import action_plans, projections, reactions
from ..service_layer import surveys as surveys
from ..service_layer.unit_of_work import InsightsUnitOfWork


def _each(*handlers):
    """One event, several features' reactions, in this order, in the same transaction (one handler per type)."""

    def handle(event, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
        for handler in handlers:
            handler(event, uow, ctx)

    return handle


def subscriptions() -> Subscriptions:
    return (
        Subscriptions()
        .on(reg.CommunityCreated, reactions.community_created)
        .on(reg.CommunityUpdated, reactions.community_updated)
        .on(reg.CommunityStatusChanged, reactions.community_status_changed)
        .on(reg.MembershipJoined, reactions.membership_joined)
        .on(reg.MembershipRoleChanged, reactions.membership_role_changed)
        .on(reg.MembershipLeft, reactions.membership_left)
        .on(
            reg.MemberErased,
            _each(
                reactions.member_erased, action_plans.member_erased, surveys.member_erased, projections.member_erased
            ),
        )
        .on(ses.SessionScheduled, _each(reactions.session_scheduled, projections.session_scheduled))
        .on(ses.SessionRescheduled, reactions.session_rescheduled)
        .on(ses.SessionHeld, _each(reactions.session_held, surveys.session_held, projections.session_held))
        .on(ses.SessionCancelled, reactions.session_cancelled)
        .on(
            ses.SessionAttendanceRecorded,
            _each(reactions.attendance_recorded, surveys.attendance_recorded, projections.attendance_recorded),
        )
        .on(ses.SessionRegistrationConfirmed, reactions.registration_confirmed)
        .on(ses.SessionRegistrationWaitlisted, reactions.registration_waitlisted)
        .on(ses.SessionRegistrationPromoted, reactions.registration_promoted)
        .on(ses.SessionRegistrationCancelled, reactions.registration_cancelled)
        .on(reg.MemberConsentChanged, surveys.consent_changed)
        .on(reg.MemberRegistered, projections.member_registered)
        .on(reg.MemberProfileUpdated, projections.member_profile_updated)
        .on(reg.OrganizationCreated, projections.organization_created)
        .on(reg.OrganizationUpdated, projections.organization_updated)
        .on(reg.OrganizationDeleted, projections.organization_deleted)
        .on(ses.ThemeProposed, projections.theme_proposed)
        .on(ses.ThemeMerged, projections.theme_merged)
        .on(ses.ThemesRetained, projections.themes_retained)
        .on(ses.VoteCast, projections.vote_cast)
    )
