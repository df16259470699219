"""A hostile-but-valid event (it passes its contract) never makes a reaction fail for good (issue 8, item 11's class).

Each of these once raised in the reaction, so the consumer retried it and dead-lettered it — a contact's event with
her address and name in the dead-letter topic, and her emails waiting until they expired. Now each is applied, with
what it says made storable: a naive time is read as UTC, a time past the calendar's edge is clamped, free text loses
what no database takes (NUL, lone surrogates) and is cut to its column, and an address that cannot be stored as it
came is not stored at all (its emails then fail at once, with the reason, instead of going to a mangled address).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cercle_notifications.adapters import orm
from cercle_notifications.adapters.templates import EmailTemplates
from cercle_notifications.domain import model
from cercle_notifications.domain.model import DeliveryStatus
from cercle_notifications.service_layer.sending import DeliverySender, SendingPolicy
from cercle_shared.contracts.registration import CommunityCreated, MemberErased

from .factories import confirmed, contact_changed, new_id, session_cancelled, session_scheduled

EDGE_WEST = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))
EDGE_EAST = datetime(1, 1, 1, 1, tzinfo=timezone(timedelta(hours=5)))
TIMES = {"naive": datetime(2026, 9, 1, 12), "west": EDGE_WEST, "east": EDGE_EAST}


def stored(h, cls, key):
    with h.uow() as uow:
        return uow.db.get(cls, key)


def storable(text: str, column) -> bool:
    text.encode()  # no lone surrogate
    return "\x00" not in text and len(text) <= column.type.length


@pytest.mark.parametrize("at", TIMES.values(), ids=TIMES.keys())
def test_contact_and_erasure_times_that_are_naive_or_past_the_calendar_edge_are_applied(h, at):
    member = new_id()
    h.publish(contact_changed(member, updated_at=at))
    h.publish(contact_changed(member, updated_at=at, name="Marie T."))  # compared with the stored one
    assert stored(h, model.Contact, member).display_name == "Marie T."
    h.publish(MemberErased(member_id=member, erased_at=at))
    assert stored(h, model.Contact, member) is None


@pytest.mark.parametrize("at", TIMES.values(), ids=TIMES.keys())
def test_session_times_that_are_naive_or_past_the_calendar_edge_are_applied(h, at):
    session, member = new_id(), new_id()
    scheduled = session_scheduled(session).model_copy(update={"starts_at": at, "ends_at": at})
    h.publish(scheduled)
    h.publish(contact_changed(member))
    h.publish(confirmed(member, session))
    kept = stored(h, model.ScheduledSession, session)
    assert kept.starts_at.tzinfo is not None
    if at is TIMES["naive"]:
        assert kept.starts_at == at.replace(tzinfo=UTC)
    with h.uow() as uow:
        [owed] = uow.deliveries.of_member(member)
    assert owed.status == DeliveryStatus.PENDING


@pytest.mark.parametrize(
    "text",
    ["Nature\x00et santé", "Nature \ud800 santé", "Nature " + "x" * 5000],
    ids=["nul", "surrogate", "overlong"],
)
def test_free_text_is_made_storable(h, text):
    session, community, member = new_id(), new_id(), new_id()
    h.publish(
        session_scheduled(session, community_id=community, title=text, location=text).model_copy(
            update={"timezone": text}
        )
    )
    h.publish(
        CommunityCreated(
            community_id=community,
            name_fr=text,
            name_en=text,
            kind="community_of_practice",
            regions=["13"],
            cadence=6,
            status="active",
            created_at=datetime.now(UTC),
        )
    )
    h.publish(contact_changed(member, name=text))
    kept = stored(h, model.ScheduledSession, session)
    assert storable(kept.title, orm.sessions.c.title)
    assert storable(kept.location, orm.sessions.c.location)
    assert storable(kept.timezone, orm.sessions.c.timezone)
    assert kept.title.startswith("Nature")
    named = stored(h, model.Community, community)
    assert storable(named.name_fr, orm.communities.c.name_fr)
    assert storable(named.name_en, orm.communities.c.name_en)
    assert storable(stored(h, model.Contact, member).display_name, orm.contacts.c.display_name)


@pytest.mark.parametrize(
    "email",
    ["marie\x00@example.org", "marie\ud800@example.org", "m" * 400 + "@example.org"],
    ids=["nul", "surrogate", "overlong"],
)
def test_an_address_that_cannot_be_stored_as_it_came_is_not_stored_and_its_emails_fail_at_once(h, email):
    member, session = new_id(), new_id()
    h.publish(contact_changed(member, email=email))
    h.publish(session_scheduled(session))
    h.publish(confirmed(member, session))
    assert stored(h, model.Contact, member).email == ""
    h.clock.now = datetime.now(UTC) + timedelta(minutes=1)  # deliveries are dated by the wall clock
    with h.uow() as uow:
        [owed] = uow.deliveries.of_member(member)

    class NoServer:
        def send(self, message) -> None:
            raise AssertionError("nothing is sent to an address that is not one")

    sender = DeliverySender(h.uow, EmailTemplates(), NoServer(), SendingPolicy(mail_from="c@cercle.local"), h.clock)
    assert sender.deliver(owed.id) == DeliveryStatus.FAILED
    with h.uow() as uow:
        [failed] = uow.deliveries.of_member(member)
    assert (failed.status, failed.attempts) == (DeliveryStatus.FAILED, 0)
    assert "address" in failed.last_error


def test_a_cancellation_reason_with_a_nul_or_a_lone_surrogate_still_makes_an_email(h):
    member, session = new_id(), new_id()
    h.publish(contact_changed(member, email=f"{member[:8]}@example.org"))
    h.publish(session_scheduled(session))
    h.publish(confirmed(member, session))
    h.publish(session_cancelled(session, reason="Tempête\x00 de neige \ud83d"))
    with h.uow() as uow:
        cancellation = next(d for d in uow.deliveries.of_member(member) if d.kind == "session_cancelled")
    assert cancellation.details["reason"] == "Tempête\ufffd de neige \ufffd"

    class Accepting:
        def send(self, message) -> None:
            assert "Tempête" in message.get_body(("plain",)).get_content()

    h.clock.now = datetime.now(UTC) + timedelta(minutes=1)  # deliveries are dated by the wall clock
    sender = DeliverySender(h.uow, EmailTemplates(), Accepting(), SendingPolicy(mail_from="c@cercle.local"), h.clock)
    assert sender.deliver(cancellation.id) == DeliveryStatus.SENT
