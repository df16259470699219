"""The one table of what this service consumes, and the reaction to each."""

from __future__ import annotations

from cercle_shared.contracts import CATALOG, IntegrationEvent, topics
from cercle_shared.contracts import insights as insights_events
from cercle_shared.contracts import registration as reg_events
from cercle_shared.contracts import sessions as session_events
from cercle_shared.messaging import EventContext, Subscriptions
from cercle_shared.messaging.consumer import Handler

from ..service_layer import announcements, digests, insights_messages, partners, reactions
from ..service_layer.unit_of_work import NotificationsUnitOfWork


def subscriptions() -> Subscriptions:
    return with_partner_events(
        Subscriptions()
        .on(reg_events.MemberContactChanged, reactions.contact_changed)
        .on_tombstone(topics.MEMBER_CONTACTS.name, reactions.contact_removed)
        .on(reg_events.MemberErased, reactions.member_erased)
        .on(reg_events.CommunityCreated, reactions.community_named)
        .on(reg_events.CommunityUpdated, reactions.community_named)
        .on(reg_events.MembershipJoined, reactions.membership_changed)
        .on(reg_events.MembershipRoleChanged, reactions.membership_changed)
        .on(reg_events.MembershipLeft, reactions.membership_left)
        .on(session_events.SessionScheduled, reactions.session_scheduled)
        .on(session_events.SessionRescheduled, reactions.session_rescheduled)
        .on(session_events.SessionCancelled, reactions.session_cancelled)
        .on(session_events.SessionRegistrationConfirmed, reactions.registration_confirmed)
        .on(session_events.SessionRegistrationWaitlisted, reactions.registration_waitlisted)
        .on(session_events.SessionRegistrationPromoted, reactions.registration_promoted)
        .on(session_events.SessionRegistrationCancelled, reactions.registration_cancelled)
        .on(reg_events.SignInLinkRequested, announcements.sign_in_link_requested)
        .on(session_events.ProgramCycleOpened, announcements.cycle_opened)
        .on(session_events.ThemesRetained, announcements.themes_retained)
        .on(session_events.BallotCast, announcements.ballot_cast)
        .on(session_events.SessionSummaryPublished, digests.summary_published)
        .on(session_events.ResourceShared, digests.resource_shared)
        .on(insights_events.SurveyInvitationIssued, insights_messages.survey_invitation_issued)
        .on(insights_events.ActionPlanNudged, insights_messages.action_plan_nudged)
        .on(insights_events.CommunityHealthAlerted, insights_messages.community_health_alerted)
    )


def with_partner_events(subs: Subscriptions) -> Subscriptions:
    """Every partner-visible event is also stored for partner organizations (issue 9), after its own reaction."""
    for spec in CATALOG:
        if spec.partner_visible:
            subs.on(spec.model, _and_for_partners(subs.handler_for(spec.type)))
    return subs


def _and_for_partners(reaction: Handler | None) -> Handler:
    def handle(event: IntegrationEvent, uow: NotificationsUnitOfWork, ctx: EventContext) -> None:
        if reaction is not None:
            reaction(event, uow, ctx)
        partners.record_partner_event(event, uow, ctx)

    return handle  # type: ignore[return-value]
