"""After a member's erasure, no table of insights holds her name, her email, or even her opaque id (issue 8, item 1).

Insights never consumes the contacts topic; the test delivers her contact and its tombstone anyway, through the
real consumer path, the way the broker would if a subscription were ever added, and then searches every row of
every table.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy import MetaData, select

from cercle_shared.contracts import CATALOG, topics
from cercle_shared.contracts.registration import MemberContactChanged
from cercle_shared.messaging import Envelope, Record

from . import events as ev

NAME = "Zéphyrine Quaglieri-Brossard"


def deliver(h, event=None, *, tombstone_of: str | None = None) -> bool:
    """Through the service's consumer, handled or not (False: insights ignores it)."""
    h._offset += 1
    if tombstone_of is not None:
        record = Record(topics.MEMBER_CONTACTS.name, 0, h._offset, tombstone_of.encode(), None, {})
    else:
        envelope = dataclasses.replace(Envelope.wrap(event, source="/cercle/test"), time=h.clock.now)
        key, value, headers = envelope.to_kafka()
        record = Record(
            CATALOG.for_event(event).topic.name,
            0,
            h._offset,
            key,
            value,
            {name: v.encode() for name, v in headers.items()},
        )
    return h.runtime.messaging.consumer.apply_now(record)


def rows_holding(h, *needles: str) -> list[tuple[str, dict]]:
    found = []
    with h.runtime.db_factory() as db:
        metadata = MetaData()
        metadata.reflect(bind=db.get_bind())
        assert {"memberships", "session_registrations", "communities"} <= set(metadata.tables)
        for table in metadata.sorted_tables:
            for row in db.execute(select(table)).mappings():
                text = repr(dict(row)).lower()
                if any(n.lower() in text for n in needles):
                    found.append((table.name, dict(row)))
    return found


def test_after_an_erasure_no_table_holds_her_name_email_or_id(insights):
    member, community, session = ev.new_id(), ev.new_id(), ev.new_id()
    email = f"zephyrine.quaglieri.{member[:8]}@example.org"
    contact = MemberContactChanged(
        member_id=member,
        email=email,
        display_name=NAME,
        language="fr",
        consents={"processing": True, "email": True},
        updated_at=ev.T0,
    )
    assert deliver(insights, contact) is False  # not a topic insights reads
    membership = ev.joined(community, member)
    for event in (
        ev.community_created(community),
        membership,
        ev.role_changed(membership, "facilitator"),
        ev.scheduled(community, session),
        ev.confirmed(community, session, member),
        ev.waitlisted(community, ev.new_id(), member),
    ):
        assert deliver(insights, event)
    assert {table for table, _ in rows_holding(insights, member)} == {"memberships", "session_registrations"}

    assert deliver(insights, ev.erased(member, at=ev.day(2)))
    assert deliver(insights, tombstone_of=member) is False

    assert rows_holding(insights, email, NAME, "Quaglieri", member) == []
    # her events arriving late change nothing about that
    for event in (ev.joined(community, member), ev.confirmed(community, ev.new_id(), member), contact):
        deliver(insights, event)
    assert rows_holding(insights, email, NAME, member) == []
    insights.run_job("purge-published-outbox")  # folds SQLite's write-ahead log back into the file
    path = Path(insights.database_url.removeprefix("sqlite:///"))
    for file in (path, path.with_name(path.name + "-wal")):
        if file.exists():
            content = file.read_bytes()
            assert email.encode() not in content
            assert b"Quaglieri" not in content
