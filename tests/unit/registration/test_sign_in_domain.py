"""The rules of sign-in without a database: codes, refresh families, the role a token carries, Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cercle_registration.domain import events
from cercle_registration.domain.model import CommunityStatus, MembershipRole
from cercle_registration.domain.sign_in import (
    InvalidGrant,
    Managed,
    RefreshState,
    RefreshToken,
    SignInCode,
    digest,
    retry_after,
    standing,
)
from cercle_shared.principal import Role

AT = datetime(2026, 9, 1, 12, tzinfo=UTC)


def issue() -> tuple[SignInCode, str]:
    return SignInCode.issue(
        member_id="m1", language="fr", link_base="https://x/?code=", ttl=timedelta(minutes=15), at=AT
    )


def test_a_code_records_the_link_with_the_raw_code_and_keeps_only_its_digest():
    code, raw = issue()
    [event] = code.recorded_events
    assert isinstance(event, events.SignInLinkRequested)
    assert event.link == f"https://x/?code={raw}"
    assert event.expires_at == AT + timedelta(minutes=15)
    assert code.code_hash == digest(raw)
    assert raw not in vars(code).values()


def test_codes_are_distinct_and_long():
    raws = {issue()[1] for _ in range(100)}
    assert len(raws) == 100
    assert min(len(r) for r in raws) >= 43


def test_a_code_is_redeemed_once_and_before_it_expires():
    code, _ = issue()
    with pytest.raises(InvalidGrant):
        code.redeem(AT + timedelta(minutes=15))
    code.redeem(AT + timedelta(minutes=14, seconds=59))
    with pytest.raises(InvalidGrant) as refused:
        code.redeem(AT + timedelta(minutes=1))
    assert refused.value.field == "code"


def test_rotation_spends_the_token_and_keeps_the_family_and_its_end():
    first, _ = RefreshToken.start_family("m1", ttl=timedelta(days=30), at=AT)
    second, raw = first.rotate(ttl=timedelta(days=30), at=AT + timedelta(days=10))
    assert first.state is RefreshState.ROTATED
    assert first.reused
    assert second.family_id == first.family_id
    assert second.expires_at == first.expires_at
    assert second.token_hash == digest(raw)
    with pytest.raises(InvalidGrant):
        first.rotate(ttl=timedelta(days=30), at=AT + timedelta(days=11))


def test_a_revoked_or_expired_token_does_not_rotate():
    token, _ = RefreshToken.start_family("m1", ttl=timedelta(days=30), at=AT)
    with pytest.raises(InvalidGrant):
        token.rotate(ttl=timedelta(days=30), at=AT + timedelta(days=30))
    token.revoke(AT)
    with pytest.raises(InvalidGrant) as refused:
        token.rotate(ttl=timedelta(days=30), at=AT)
    assert refused.value.field == "refresh_token"


def managed(community: str, role: MembershipRole, regions=(), status=CommunityStatus.ACTIVE) -> Managed:
    return Managed(community, role, tuple(regions), status)


def test_the_highest_role_with_its_scopes():
    assert standing([]).role is Role.MEMBER
    facilitator = standing([managed("c1", MembershipRole.FACILITATOR, ["06"])])
    assert facilitator.role is Role.FACILITATOR
    assert facilitator.communities == {"c1"}
    assert facilitator.regions == frozenset()
    coordinator = standing(
        [managed("c1", MembershipRole.FACILITATOR, ["06"]), managed("c2", MembershipRole.COORDINATOR, ["13", "14"])]
    )
    assert coordinator.role is Role.COORDINATOR
    assert coordinator.regions == {"13", "14"}
    assert coordinator.communities == {"c1", "c2"}


def test_a_province_wide_coordinator_is_scoped_to_her_community_not_to_every_region():
    held = standing([managed("c1", MembershipRole.COORDINATOR, [])])
    assert held.role is Role.FACILITATOR
    assert held.communities == {"c1"}


def test_closed_communities_and_participation_give_no_role():
    held = standing(
        [
            managed("c1", MembershipRole.COORDINATOR, ["06"], CommunityStatus.CLOSED),
            managed("c2", MembershipRole.PARTICIPANT, ["06"]),
        ]
    )
    assert held.role is Role.MEMBER


def test_retry_after_counts_until_the_oldest_attempt_leaves_the_window():
    window = timedelta(minutes=15)
    assert retry_after(AT, window, AT + timedelta(minutes=5)) == 600
    assert retry_after(AT, window, AT + timedelta(minutes=14, seconds=59, milliseconds=500)) == 1
    assert retry_after(AT, window, AT + window) == 1
