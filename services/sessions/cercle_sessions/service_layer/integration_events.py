"""The one translation of this service's domain events into the contract events other services read."""

from __future__ import annotations

from cercle_shared.contracts import sessions as contracts
from cercle_shared.uow import translation_table

from ..domain import events

translate = translation_table(
    {
        events.SessionScheduled: lambda e: contracts.SessionScheduled(
            session_id=e.session_id,
            community_id=e.community_id,
            title=e.title,
            starts_at=e.starts_at,
            ends_at=e.ends_at,
            timezone=e.timezone,
            mode=e.mode,
            location=e.place,
            capacity=e.capacity,
            theme_id=e.theme_id,
        ),
        events.SessionRescheduled: lambda e: contracts.SessionRescheduled(
            session_id=e.session_id,
            community_id=e.community_id,
            title=e.title,
            starts_at=e.starts_at,
            ends_at=e.ends_at,
            timezone=e.timezone,
            mode=e.mode,
            location=e.place,
            capacity=e.capacity,
            sequence=e.sequence,
            rescheduled_at=e.rescheduled_at,
        ),
        events.SessionCancelled: lambda e: contracts.SessionCancelled(
            session_id=e.session_id, community_id=e.community_id, reason=e.reason, cancelled_at=e.cancelled_at
        ),
        events.SessionHeld: lambda e: contracts.SessionHeld(
            session_id=e.session_id,
            community_id=e.community_id,
            theme_id=e.theme_id,
            starts_at=e.starts_at,
            formats=list(e.formats),
            held_at=e.held_at,
        ),
        events.RegistrationConfirmed: lambda e: contracts.SessionRegistrationConfirmed(
            registration_id=e.registration_id,
            session_id=e.session_id,
            community_id=e.community_id,
            member_id=e.member_id,
            confirmed_at=e.confirmed_at,
        ),
        events.RegistrationWaitlisted: lambda e: contracts.SessionRegistrationWaitlisted(
            registration_id=e.registration_id,
            session_id=e.session_id,
            community_id=e.community_id,
            member_id=e.member_id,
            position=e.position,
            waitlisted_at=e.waitlisted_at,
        ),
        events.RegistrationPromoted: lambda e: contracts.SessionRegistrationPromoted(
            registration_id=e.registration_id,
            session_id=e.session_id,
            community_id=e.community_id,
            member_id=e.member_id,
            promoted_at=e.promoted_at,
        ),
        events.RegistrationCancelled: lambda e: contracts.SessionRegistrationCancelled(
            registration_id=e.registration_id,
            session_id=e.session_id,
            community_id=e.community_id,
            member_id=e.member_id,
            was=e.was,
            cancelled_at=e.cancelled_at,
        ),
        events.AttendanceRecorded: lambda e: contracts.SessionAttendanceRecorded(
            session_id=e.session_id,
            community_id=e.community_id,
            confirmed=e.confirmed,
            present=e.present,
            absent=e.absent,
            present_member_ids=list(e.present_member_ids),
            recorded_at=e.recorded_at,
        ),
        events.SummaryWritten: lambda e: contracts.SessionSummaryPublished(
            session_id=e.session_id,
            community_id=e.community_id,
            version=e.version,
            languages=list(e.languages),
            published_at=e.written_at,
        ),
        events.ResourceShared: lambda e: contracts.ResourceShared(
            resource_id=e.resource_id,
            community_id=e.community_id,
            session_id=e.session_id,
            theme_id=e.theme_id,
            kind=e.kind,
            title=e.title,
            language=e.language,
            tags=list(e.tags),
            shared_at=e.shared_at,
        ),
        events.ProgramCycleOpened: lambda e: contracts.ProgramCycleOpened(
            cycle_id=e.cycle_id,
            community_id=e.community_id,
            starts_on=e.starts_on,
            ends_on=e.ends_on,
            proposals_open_at=e.proposals_open_at,
            proposals_close_at=e.proposals_close_at,
            voting_opens_at=e.voting_opens_at,
            voting_closes_at=e.voting_closes_at,
            themes_to_retain=e.themes_to_retain,
            sessions_per_theme=e.sessions_per_theme,
            opened_at=e.opened_at,
        ),
        events.ThemeProposed: lambda e: contracts.ThemeProposed(
            theme_id=e.theme_id,
            cycle_id=e.cycle_id,
            community_id=e.community_id,
            title=e.title,
            need=e.need,
            proposed_at=e.proposed_at,
        ),
        events.ThemeMerged: lambda e: contracts.ThemeMerged(
            theme_id=e.theme_id,
            into_theme_id=e.into_theme_id,
            cycle_id=e.cycle_id,
            community_id=e.community_id,
            merged_at=e.merged_at,
        ),
        events.VoteCast: lambda e: contracts.VoteCast(
            vote_id=e.vote_id, theme_id=e.theme_id, cycle_id=e.cycle_id, community_id=e.community_id, cast_at=e.cast_at
        ),
        events.BallotCast: lambda e: contracts.BallotCast(
            cycle_id=e.cycle_id, community_id=e.community_id, member_id=e.member_id, cast_at=e.cast_at
        ),
        events.ThemesRetained: lambda e: contracts.ThemesRetained(
            cycle_id=e.cycle_id,
            community_id=e.community_id,
            total_votes=e.total_votes,
            retained_at=e.retained_at,
            themes=[
                contracts.RetainedTheme(theme_id=t.theme_id, title=t.title, votes=t.votes, rank=t.rank)
                for t in e.themes
            ],
        ),
    }
)
