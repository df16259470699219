"""The notifications service with its jobs pointed at a real SMTP server (aiosmtpd) and a community, a session and
people described by the events the other services publish; the harness's clock is the one the test moves."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from cercle_notifications.domain.timed import TimedMessage
from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from devtools.smtp import LocalSmtp
from tests.support.harness import ServiceHarness, harness

TORONTO = ZoneInfo("America/Toronto")
HAND_OVER, SEND = "hand-over-timed-messages", "send-emails"


@pytest.fixture(scope="package")
def smtp(tmp_path_factory):
    with LocalSmtp(tmp_path_factory.mktemp("mail")) as server:
        yield server


@pytest.fixture
def h(smtp, tmp_path, tmp_path_factory):
    yield from harness(
        "notifications",
        tmp_path,
        tmp_path_factory.getbasetemp(),
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        mail_from="Cercle <no-reply@cercle.local>",
    )


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Montréal/Toronto, as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=TORONTO).astimezone(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class World:
    """Publishes the events of one community and its sessions, through the real consumer path."""

    h: ServiceHarness
    smtp: LocalSmtp
    community_id: str = field(default_factory=new_id)
    registrations: dict[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.h.publish(
            reg.CommunityCreated(
                community_id=self.community_id,
                name_fr="CoP SMET Laval",
                name_en="Laval workplace health CoP",
                kind="community_of_practice",
                regions=["13"],
                cadence=6,
                status="active",
                created_at=self.h.clock.now,
            )
        )

    def person(self, name: str = "Marie Tremblay", language: str = "fr", consent: bool = True) -> tuple[str, str]:
        member_id = new_id()
        email = f"{member_id[:8]}@example.org"
        self.h.publish(
            reg.MemberContactChanged(
                member_id=member_id,
                email=email,
                display_name=name,
                language=language,
                consents={"processing": True, "email": consent},
                updated_at=self.h.clock.now,
            )
        )
        return member_id, email

    def join(self, member_id: str, role: str = "participant") -> str:
        membership_id = new_id()
        self.h.publish(
            reg.MembershipJoined(
                membership_id=membership_id,
                community_id=self.community_id,
                member_id=member_id,
                role=role,
                joined_at=self.h.clock.now,
            )
        )
        return membership_id

    def schedule(self, starts_at: datetime, hours: float = 2) -> str:
        session_id = new_id()
        self.h.publish(
            ses.SessionScheduled(
                session_id=session_id,
                community_id=self.community_id,
                title="Nature et santé mentale",
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=hours),
                timezone="America/Toronto",
                mode="in_person",
                location="Maison du citoyen, Laval",
                capacity=20,
            )
        )
        return session_id

    def reschedule(self, session_id: str, starts_at: datetime, sequence: int) -> None:
        self.h.publish(
            ses.SessionRescheduled(
                session_id=session_id,
                community_id=self.community_id,
                title="Nature et santé mentale",
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=2),
                timezone="America/Toronto",
                mode="in_person",
                location="Maison du citoyen, Laval",
                capacity=20,
                sequence=sequence,
                rescheduled_at=self.h.clock.now,
            )
        )

    def cancel_session(self, session_id: str) -> None:
        self.h.publish(
            ses.SessionCancelled(
                session_id=session_id, community_id=self.community_id, reason=None, cancelled_at=self.h.clock.now
            )
        )

    def confirm(self, member_id: str, session_id: str) -> str:
        registration_id = self.registrations.setdefault((member_id, session_id), new_id())
        self.h.publish(
            ses.SessionRegistrationConfirmed(
                registration_id=registration_id,
                session_id=session_id,
                community_id=self.community_id,
                member_id=member_id,
                confirmed_at=self.h.clock.now,
            )
        )
        return registration_id

    def waitlist(self, member_id: str, session_id: str) -> str:
        registration_id = self.registrations.setdefault((member_id, session_id), new_id())
        self.h.publish(
            ses.SessionRegistrationWaitlisted(
                registration_id=registration_id,
                session_id=session_id,
                community_id=self.community_id,
                member_id=member_id,
                position=1,
                waitlisted_at=self.h.clock.now,
            )
        )
        return registration_id

    def cancel_registration(self, member_id: str, session_id: str) -> None:
        self.h.publish(
            ses.SessionRegistrationCancelled(
                registration_id=self.registrations[(member_id, session_id)],
                session_id=session_id,
                community_id=self.community_id,
                member_id=member_id,
                was="confirmed",
                cancelled_at=self.h.clock.now,
            )
        )

    def run_until(self, moment: datetime) -> None:
        """Move the clock to `moment` and let both jobs run, as the service's loop would."""
        self.h.clock.now = moment
        self._on_test_clock()
        self.h.run_job(HAND_OVER)
        self.h.run_job(SEND)

    def _on_test_clock(self) -> None:
        # Reactions date the deliveries they create with the machine's clock: put them on the test's.
        with self.h.uow() as uow:
            for delivery in uow.deliveries.page(member_id=None, status=None, kind=None, cursor=None, limit=200)[0]:
                due_later = delivery.next_attempt_at is not None and delivery.next_attempt_at > self.h.clock.now
                if delivery.status == "pending" and due_later and not delivery.source_event_id.startswith("timed:"):
                    delivery.created_at = delivery.next_attempt_at = self.h.clock.now
            uow.commit()

    def inbox(self, email: str, kind: str | None = None) -> list[EmailMessage]:
        messages = [m for m in self.smtp.messages() if email in str(m["To"])]
        return [m for m in messages if kind is None or kind in str(m["Subject"])]

    def timed(self, member_id: str) -> list[TimedMessage]:
        with self.h.uow() as uow:
            return sorted(uow.timed.of_member(member_id), key=lambda m: (m.kind, m.due_at))


@pytest.fixture
def world(h, smtp) -> World:
    return World(h, smtp)


def calendar_of(message: EmailMessage) -> Calendar:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_payload(decode=True))


def event_of(message: EmailMessage):
    [event] = calendar_of(message).walk("VEVENT")
    return event
