"""Emails insights asks for: survey invitations and reminders, action-plan nudges, community health alerts.

Insights decides who is asked and when (consent to surveys, not yet answered, the plan's dates, a change of a
community's health); this service only writes the email in her language and sends it, like any other: her email
consent and the categories she stopped apply (surveys, action plans, coordination), with the one-click unsubscribe.

Each email is owed once per id insights gives it (invitation, nudge, alert), however often the event is seen: a
replay or a rebuild of insights sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime

from cercle_shared.contracts import insights as insights_events
from cercle_shared.db import storable
from cercle_shared.messaging import EventContext
from cercle_shared.text import one_line

from ..domain.model import EmailKind, MembershipRole
from ..domain.when import format_month
from .announcements import moment, owe
from .sending import Composed, Composer, Draft
from .unit_of_work import NotificationsUnitOfWork


def survey_invitation_issued(
    event: insights_events.SurveyInvitationIssued, uow: NotificationsUnitOfWork, ctx: EventContext
) -> None:
    """Owe her the invitation (round 0) or a reminder; never once the survey has closed. The answer link is a secret:
    kept only until the delivery is settled."""
    closes_at = storable.instant(event.closes_at)
    owe(
        uow,
        event.invitation_id,
        EmailKind.SURVEY_INVITATION if event.round == 0 else EmailKind.SURVEY_REMINDER,
        event.member_id,
        {
            "link": event.answer_url,
            "survey_id": event.survey_id,
            "survey_kind": event.kind,
            "title_fr": event.title_fr,
            "title_en": event.title_en,
            "community_id": event.community_id,
            "closes_at": closes_at.isoformat(),
            "not_after": closes_at.isoformat(),
        },
        at=ctx.time,
    )


def action_plan_nudged(
    event: insights_events.ActionPlanNudged, uow: NotificationsUnitOfWork, ctx: EventContext
) -> None:
    owe(
        uow,
        event.nudge_id,
        EmailKind.ACTION_PLAN_NUDGE,
        event.member_id,
        {
            "nudge": event.kind,
            "plan_title": event.plan_title,
            "step": event.current_step,
            "plan_url": event.plan_url,
            "community_id": event.community_id,
        },
        at=ctx.time,
    )


def coordinators_of(uow: NotificationsUnitOfWork, community_id: str, regions: list[str]) -> list[str]:
    """The community's own coordinators, and those of every community of its regions (a coordinator looks after
    a region's communities). A province-wide community (no region) has only its own."""
    wanted = set(regions)
    communities = {community_id}
    if wanted:
        communities |= {c.community_id for c in uow.communities.all() if wanted & set(c.regions)}
    members: set[str] = set()
    for cid in sorted(communities):
        members |= {m.member_id for m in uow.memberships.of_community(cid, MembershipRole.COORDINATOR)}
    return sorted(members)


def community_health_alerted(
    event: insights_events.CommunityHealthAlerted, uow: NotificationsUnitOfWork, ctx: EventContext
) -> None:
    """Every coordinator of its regions hears of the change, once per change (the alert's id)."""
    details = {
        "community_id": event.community_id,
        "status": event.status,
        "signals": list(event.signals),
        "score": round(event.score),
        "month": event.month.isoformat(),
    }
    with uow.db.no_autoflush:
        for member_id in coordinators_of(uow, event.community_id, list(event.regions)):
            owe(uow, event.alert_id, EmailKind.COMMUNITY_HEALTH_ALERT, member_id, details, at=ctx.time)


def _community_name(draft: Draft) -> str | None:
    community_id = draft.delivery.details.get("community_id")
    community = draft.uow.communities.get(community_id) if community_id else None
    return one_line(community.name(draft.language)) if community else None


def compose_survey(draft: Draft) -> Composed:
    details, language = draft.delivery.details, draft.language
    title = details["title_en"] if language == "en" else details["title_fr"]
    return Composed(
        {
            "display_name": one_line(draft.contact.display_name),
            "survey_title": one_line(title),
            "survey_kind": details["survey_kind"],
            "community_name": _community_name(draft),
            "answer_url": _in_her_language(details["link"], language),
            "closes": moment(datetime.fromisoformat(details["closes_at"]), language),
        }
    )


def _in_her_language(url: str, language: str) -> str:
    """The answer form is French unless asked otherwise: an English-speaking member's link asks for English."""
    if language == "fr":
        return url
    return f"{url}{'&' if '?' in url else '?'}lang={language}"


def compose_nudge(draft: Draft) -> Composed:
    details = draft.delivery.details
    return Composed(
        {
            "display_name": one_line(draft.contact.display_name),
            "plan_title": one_line(details["plan_title"]),
            "nudge": details["nudge"],
            "step": details["step"],
            "plan_url": details["plan_url"],
            "community_name": _community_name(draft),
        }
    )


def compose_health_alert(draft: Draft) -> Composed:
    details, language = draft.delivery.details, draft.language
    month = datetime.fromisoformat(details["month"])
    return Composed(
        {
            "display_name": one_line(draft.contact.display_name),
            "community_name": _community_name(draft) or details["community_id"],
            "status": details["status"],
            "signals": details["signals"],
            "score": details["score"],
            "month": format_month(month.year, month.month, language),
        }
    )


COMPOSERS: dict[str, Composer] = {
    EmailKind.SURVEY_INVITATION: compose_survey,
    EmailKind.SURVEY_REMINDER: compose_survey,
    EmailKind.ACTION_PLAN_NUDGE: compose_nudge,
    EmailKind.COMMUNITY_HEALTH_ALERT: compose_health_alert,
}
