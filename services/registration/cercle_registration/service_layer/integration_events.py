"""The one translation from registration's domain events to the integration events other services read.

Partner-visible topics never carry a name or an email: those travel on the internal contacts topic, whose
latest record per member is their current contact data (a tombstone once they are erased).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from cercle_shared.contracts import registration as contracts
from cercle_shared.contracts import topics
from cercle_shared.uow import Publication, Tombstone, translation_table

from ..domain import events

PROFILE_FIELDS = frozenset({"organization_id", "region", "language", "expertise"})  # what MemberProfileUpdated carries


def _member_registered(e: events.MemberRegistered) -> Iterable[Publication]:
    yield contracts.MemberRegistered(
        member_id=e.member_id,
        organization_id=e.organization_id,
        region=e.region,
        language=e.language,
        expertise=list(e.expertise),
        registered_at=e.registered_at,
    )
    # Every purpose is given or refused at registration: each starts the member's consent history.
    for purpose, granted in e.consents:
        yield contracts.MemberConsentChanged(
            member_id=e.member_id, purpose=purpose, granted=granted, changed_at=e.registered_at
        )
    yield contracts.MemberContactChanged(
        member_id=e.member_id,
        email=e.email,
        display_name=e.display_name,
        language=e.language,
        consents=dict(e.consents),
        updated_at=e.registered_at,
    )


def _member_profile_updated(e: events.MemberProfileUpdated) -> Iterable[Publication]:
    if not e.changed & PROFILE_FIELDS:
        return ()  # a job title, a name or an email: nothing partners may see changed
    return (
        contracts.MemberProfileUpdated(
            member_id=e.member_id,
            organization_id=e.organization_id,
            region=e.region,
            language=e.language,
            expertise=list(e.expertise),
            updated_at=e.updated_at,
        ),
    )


def _member_erased(e: events.MemberErased) -> Iterable[Publication]:
    return (
        contracts.MemberErased(member_id=e.member_id, erased_at=e.erased_at),
        # Compaction then deletes every contact record of the member from the log.
        Tombstone(topic=topics.MEMBER_CONTACTS.name, key=e.member_id, event_id=str(uuid.uuid4())),
    )


translate = translation_table(
    {
        events.OrganizationCreated: lambda e: contracts.OrganizationCreated(
            organization_id=e.organization_id,
            name=e.name,
            sector=e.sector,
            region=e.region,
            size_band=e.size_band,
            created_at=e.created_at,
        ),
        events.OrganizationUpdated: lambda e: contracts.OrganizationUpdated(
            organization_id=e.organization_id,
            name=e.name,
            sector=e.sector,
            region=e.region,
            size_band=e.size_band,
            updated_at=e.updated_at,
        ),
        events.OrganizationDeleted: lambda e: contracts.OrganizationDeleted(
            organization_id=e.organization_id, deleted_at=e.deleted_at
        ),
        events.MemberRegistered: _member_registered,
        events.MemberProfileUpdated: _member_profile_updated,
        events.MemberConsentChanged: lambda e: contracts.MemberConsentChanged(
            member_id=e.member_id, purpose=e.purpose, granted=e.granted, changed_at=e.changed_at
        ),
        events.MemberContactChanged: lambda e: contracts.MemberContactChanged(
            member_id=e.member_id,
            email=e.email,
            display_name=e.display_name,
            language=e.language,
            consents=dict(e.consents),
            updated_at=e.updated_at,
        ),
        events.MemberErased: _member_erased,
        events.SignInLinkRequested: lambda e: contracts.SignInLinkRequested(
            member_id=e.member_id,
            link=e.link,
            code=e.code,
            language=e.language,
            expires_at=e.expires_at,
            requested_at=e.requested_at,
        ),
        events.CommunityCreated: lambda e: contracts.CommunityCreated(
            community_id=e.community_id,
            name_fr=e.name_fr,
            name_en=e.name_en,
            domain=e.domain,
            kind=e.kind,
            regions=list(e.regions),
            province_wide=e.province_wide,
            cadence=e.cadence,
            status=e.status,
            founded_on=e.founded_on,
            created_at=e.created_at,
        ),
        events.CommunityUpdated: lambda e: contracts.CommunityUpdated(
            community_id=e.community_id,
            name_fr=e.name_fr,
            name_en=e.name_en,
            domain=e.domain,
            kind=e.kind,
            regions=list(e.regions),
            province_wide=e.province_wide,
            cadence=e.cadence,
            status=e.status,
            updated_at=e.updated_at,
        ),
        events.CommunityStatusChanged: lambda e: contracts.CommunityStatusChanged(
            community_id=e.community_id, status=e.status, changed_at=e.changed_at
        ),
        events.MembershipJoined: lambda e: contracts.MembershipJoined(
            membership_id=e.membership_id,
            community_id=e.community_id,
            member_id=e.member_id,
            role=e.role,
            joined_at=e.joined_at,
        ),
        events.MembershipRoleChanged: lambda e: contracts.MembershipRoleChanged(
            membership_id=e.membership_id,
            community_id=e.community_id,
            member_id=e.member_id,
            role=e.role,
            changed_at=e.changed_at,
        ),
        events.MembershipLeft: lambda e: contracts.MembershipLeft(
            membership_id=e.membership_id, community_id=e.community_id, member_id=e.member_id, left_at=e.left_at
        ),
    }
)
