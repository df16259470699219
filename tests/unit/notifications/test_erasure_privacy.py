"""After a member's erasure, no table of notifications holds her name or email (issue 8, item 1).

Her contact arrives, emails are owed, sent and retried (an SMTP error quoting her address), she saves preferences;
then registration erases her: MemberErased on the members topic and a tombstone on the contacts topic, which
arrive in either order. Every row of every table is then searched for her address and her name.
"""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from cercle_notifications.adapters.templates import EmailTemplates
from cercle_notifications.domain.model import DeliveryStatus
from cercle_notifications.service_layer.sending import DeliverySender, SendingPolicy
from cercle_shared.contracts import topics
from cercle_shared.contracts.registration import CommunityCreated, MemberErased
from cercle_shared.messaging import Record
from devtools.smtp import LocalSmtp
from tests.support.harness import harness
from tests.support.services import auth

from .factories import confirmed, contact_changed, new_id, session_scheduled

NAME = "Zéphyrine Quaglieri-Brossard"


@pytest.fixture(scope="module")
def smtp(tmp_path_factory):
    with LocalSmtp(tmp_path_factory.mktemp("mail")) as server:
        yield server


@pytest.fixture
def h(smtp, tmp_path, tmp_path_factory):
    for service in harness(
        "notifications", tmp_path, tmp_path_factory.getbasetemp(), smtp_host="127.0.0.1", smtp_port=smtp.port
    ):
        service.clock.now = datetime.now(UTC)  # reactions date what they owe by the wall clock
        yield service


class RefusingForNow:
    """A server that refuses the recipient for now, quoting her address, as real servers do."""

    def send(self, message) -> None:
        address = message["To"].addresses[0].addr_spec
        raise smtplib.SMTPRecipientsRefused({address: (450, f"4.2.1 <{address}>: mailbox busy".encode())})


def tombstone(h, member_id: str) -> None:
    h._offset += 1
    record = Record(
        topic=topics.MEMBER_CONTACTS.name, partition=0, offset=h._offset, key=member_id.encode(), value=None, headers={}
    )
    assert h.runtime.messaging.consumer.apply_now(record)


def rows_holding(h, *needles: str) -> list[tuple[str, dict]]:
    """Every row of every table (reflected from the database itself) that holds one of the needles."""
    found = []
    lowered = [n.lower() for n in needles]
    with h.runtime.db_factory() as db:
        metadata = MetaData()
        metadata.reflect(bind=db.get_bind())
        assert {"contacts", "deliveries", "preferences", "registrations", "outbox"} <= set(metadata.tables)
        for table in metadata.sorted_tables:
            for row in db.execute(select(table)).mappings():
                text = repr(dict(row)).lower()
                if any(n in text for n in lowered):
                    found.append((table.name, dict(row)))
    return found


def sqlite_files_holding(h, needle: str) -> list[str]:
    path = Path(h.database_url.removeprefix("sqlite:///"))
    files = [p for p in (path, path.with_name(path.name + "-wal")) if p.exists()]
    return [p.name for p in files if needle.encode() in p.read_bytes()]


@pytest.mark.parametrize("tombstone_first", [False, True], ids=["erased-then-tombstone", "tombstone-then-erased"])
def test_after_an_erasure_no_table_holds_her_name_or_email(h, smtp, tombstone_first):
    member, community = new_id(), new_id()
    email = f"zephyrine.quaglieri.{member[:8]}@example.org"
    h.publish(contact_changed(member, email=email, name=NAME, language="fr"))
    h.publish(
        CommunityCreated(
            community_id=community,
            name_fr="CoP Laval",
            name_en="Laval CoP",
            kind="community_of_practice",
            regions=["13"],
            cadence=6,
            status="active",
            created_at=h.clock.now,
        )
    )
    sessions = [new_id() for _ in range(3)]
    for session in sessions:
        h.publish(session_scheduled(session, community_id=community))
    h.publish(confirmed(member, sessions[0], community))
    saved = h.api.put(
        f"/v1/members/{member}/preferences", json={"language": "en", "opt_out": []}, headers=auth("operator")
    )
    assert saved.status_code == 200, saved.text

    h.advance(days=1)
    h.run_job("send-emails")  # the first email is sent: its delivery records the address it went to
    h.publish(confirmed(member, sessions[1], community))
    h.advance(days=1)
    sender = DeliverySender(
        h.uow, EmailTemplates(), RefusingForNow(), SendingPolicy(mail_from="Cercle <no-reply@cercle.local>"), h.clock
    )
    sender.send_due()  # the second is refused for now: its error quotes the address
    h.publish(confirmed(member, sessions[2], community))  # the third is still pending

    with h.uow() as uow:
        statuses = sorted(d.status for d in uow.deliveries.of_member(member))
        assert statuses == sorted([DeliveryStatus.SENT, DeliveryStatus.PENDING, DeliveryStatus.PENDING])
    held = {table for table, _ in rows_holding(h, email, NAME)}
    assert held == {"contacts", "deliveries"}  # the search finds what is there

    erased = MemberErased(member_id=member, erased_at=h.clock.now)
    if tombstone_first:
        tombstone(h, member)
        h.publish(erased)
    else:
        h.publish(erased)
        tombstone(h, member)

    assert rows_holding(h, email, NAME, "Quaglieri") == []
    h.run_job("purge-published-outbox")  # on SQLite this also folds the write-ahead log back into the file
    assert sqlite_files_holding(h, email) == []
    assert sqlite_files_holding(h, "Quaglieri") == []


def test_a_tombstone_alone_forgets_every_copy_of_the_contact(h, smtp):
    """The contacts topic says the contact is gone: the addresses and errors copied from it go too."""
    member, session = new_id(), new_id()
    email = f"zephyrine.{member[:8]}@example.org"
    h.publish(contact_changed(member, email=email, name=NAME))
    h.publish(session_scheduled(session))
    h.publish(confirmed(member, session))
    h.advance(days=1)
    h.run_job("send-emails")
    assert {table for table, _ in rows_holding(h, email)} == {"contacts", "deliveries"}
    tombstone(h, member)
    assert rows_holding(h, email, NAME) == []
    with h.uow() as uow:
        [sent] = uow.deliveries.of_member(member)  # what happened stays: an email was sent to that member
        assert (sent.status, sent.recipient, sent.sent_at is not None) == (DeliveryStatus.SENT, None, True)


def test_an_attempt_that_fails_after_the_erasure_does_not_write_the_address_back(h):
    member, session = new_id(), new_id()
    email = f"zephyrine.{member[:8]}@example.org"
    h.publish(contact_changed(member, email=email, name=NAME))
    h.publish(session_scheduled(session))
    h.publish(confirmed(member, session))
    h.advance(days=1)

    class ErasedWhileSending(RefusingForNow):
        def send(self, message) -> None:
            h.publish(MemberErased(member_id=member, erased_at=datetime.now(UTC)))  # the erasure arrives meanwhile
            super().send(message)

    policy = SendingPolicy(mail_from="Cercle <no-reply@cercle.local>")
    assert DeliverySender(h.uow, EmailTemplates(), ErasedWhileSending(), policy, h.clock).send_due() == 1
    assert rows_holding(h, email, NAME) == []


def test_an_email_sent_while_the_contact_was_erased_does_not_keep_the_address(h):
    member, session = new_id(), new_id()
    email = f"zephyrine.{member[:8]}@example.org"
    h.publish(contact_changed(member, email=email, name=NAME))
    h.publish(session_scheduled(session))
    h.publish(confirmed(member, session))
    h.advance(days=1)

    class TombstonedWhileSending:
        def send(self, message) -> None:
            tombstone(h, member)  # the contact is erased while the server takes the message

    policy = SendingPolicy(mail_from="Cercle <no-reply@cercle.local>")
    assert DeliverySender(h.uow, EmailTemplates(), TombstonedWhileSending(), policy, h.clock).send_due() == 1
    with h.uow() as uow:
        [sent] = uow.deliveries.of_member(member)
        assert (sent.status, sent.recipient) == (DeliveryStatus.SENT, None)
    assert rows_holding(h, email, NAME) == []
