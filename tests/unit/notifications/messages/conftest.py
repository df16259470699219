"""The notifications service in process with its real jobs wired as in production, sending to a real SMTP server
process (aiosmtpd) on loopback; events go through the real consumer path (harness.publish)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from cercle_shared.contracts import registration as reg_events
from devtools.smtp import LocalSmtp
from tests.support.harness import ServiceHarness, harness

PUBLIC_URL = "https://cercle.example"
SESSIONS_URL = "https://cercle.example/sessions"


@pytest.fixture(scope="module")
def smtp(tmp_path_factory) -> Iterator[LocalSmtp]:
    with LocalSmtp(tmp_path_factory.mktemp("mail")) as server:
        yield server


@pytest.fixture
def h(smtp, tmp_path, tmp_path_factory) -> Iterator[ServiceHarness]:
    yield from harness(
        "notifications",
        tmp_path,
        tmp_path_factory.getbasetemp(),
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        public_url=PUBLIC_URL,
        public_sessions_url=SESSIONS_URL,
    )


def new_id() -> str:
    return str(uuid.uuid4())


def mail_to(smtp: LocalSmtp, email: str) -> list:
    return [m for m in smtp.messages() if email in m["X-Envelope-To"]]


def member(h: ServiceHarness, *communities: str, language: str = "fr", email_consent: bool = True) -> tuple[str, str]:
    """A member with her contact (and memberships of `communities`): (member_id, email)."""
    member_id = new_id()
    email = f"{member_id[:8]}@example.org"
    h.publish(
        reg_events.MemberContactChanged(
            member_id=member_id,
            email=email,
            display_name="Marie Tremblay",
            language=language,
            consents={"processing": True, "email": email_consent},
            updated_at=h.clock.now,
        )
    )
    for community_id in communities:
        h.publish(
            reg_events.MembershipJoined(
                membership_id=new_id(),
                community_id=community_id,
                member_id=member_id,
                role="participant",
                joined_at=h.clock.now,
            )
        )
    return member_id, email


def community(h: ServiceHarness, name_fr: str = "CoP SMET Laval", name_en: str = "Laval workplace health CoP") -> str:
    community_id = new_id()
    h.publish(
        reg_events.CommunityCreated(
            community_id=community_id,
            name_fr=name_fr,
            name_en=name_en,
            kind="community_of_practice",
            regions=["13"],
            cadence=6,
            status="active",
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
    )
    return community_id


def body(message) -> str:
    return message.get_body(("plain",)).get_content()
