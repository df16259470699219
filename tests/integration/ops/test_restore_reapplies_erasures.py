"""A restore re-applies every erasure since the backup, on the real broker and PostgreSQL: a database is dumped with
pg_dump (the backup), members are erased (the outbox relay publishes MemberErased to Kafka), the dump is restored
with pg_restore as cercle-ops does (the members are back), then what `cercle-ops restore` does next: it reads the
MemberErased records from the members topic (cercle_ops.erasures.read) and runs `cercle-<service> reapply-erasures`
with them. Registration erases the members again and publishes their erasure again; sessions, notifications and
insights apply their own reaction again. A second run changes nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka import KafkaProducer
from sqlalchemy import func, select, text

from cercle_ops import erasures as ops_erasures
from cercle_shared import erasures
from cercle_shared.contracts import CATALOG
from cercle_shared.contracts import registration as reg
from cercle_shared.contracts.topics import MEMBER_CONTACTS
from cercle_shared.db.migrations import upgrade
from cercle_shared.messaging import Envelope, OutboxRelay, Record
from cercle_shared.privacy import erasure_key
from cercle_shared.settings import KafkaSettings
from tests.support.harness import ServiceHarness, new_id
from tests.support.services import JWT_SECRET, SERVICES

pytestmark = pytest.mark.integration

ERASED = erasures.EVENT_TYPE


# --- what the backup, the relay and cercle-ops do -----------------------------------------------------------------


def pg_dump(postgres, url: str, path: Path) -> Path:
    """The backup: `pg_dump -Fc --no-owner`, as cercle-ops runs it."""
    database = url.rsplit("/", 1)[1]
    subprocess.run(
        [str(postgres.bin_dir / "pg_dump"), "-Fc", "--no-owner", "-f", str(path), "-d", postgres.conninfo(database)],
        check=True,
        capture_output=True,
    )
    return path


def pg_restore(postgres, url: str, dump: Path) -> None:
    """The restore of the database, with cercle-ops' flags."""
    database = url.rsplit("/", 1)[1]
    subprocess.run(
        [
            str(postgres.bin_dir / "pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            "-d",
            postgres.conninfo(database),
            str(dump),
        ],
        check=True,
        capture_output=True,
    )


def relay(h: ServiceHarness, bootstrap: str) -> int:
    """The service's real outbox relay, once, publishing to the real broker."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")

    async def publish(topic: str, key: bytes, value: bytes | None, headers: dict[str, str]) -> None:
        producer.send(topic, key=key, value=value, headers=[(n, v.encode()) for n, v in headers.items()]).get(10)

    try:
        return asyncio.run(OutboxRelay(h.runtime.db_factory, h.runtime.tables, publish).publish_pending())
    finally:
        producer.close()


def unpublished_erasures(h: ServiceHarness) -> list[dict]:
    """What cercle-ops reads from registration's outbox before the restore overwrites it."""
    outbox = h.runtime.tables.outbox
    with h.runtime.db_factory() as db:
        rows = db.execute(
            select(outbox.c.key, outbox.c.value, outbox.c.headers).where(
                outbox.c.published_at.is_(None), outbox.c.event_type == ERASED
            )
        ).all()
    return [{"key": r.key, "value": r.value, "headers": r.headers} for r in rows]


def reapply(service: str, url: str, records: list[Record], tmp_path: Path, monkeypatch, capsys) -> str:
    """`cercle-<service> reapply-erasures FILE`, as cercle-ops runs it in the service's image; its output."""
    path = tmp_path / f"erasures-{uuid.uuid4().hex[:6]}.jsonl"
    path.write_bytes(ops_erasures.to_file(records))
    monkeypatch.setenv("CERCLE_DATABASE_URL", url)
    monkeypatch.setenv("CERCLE_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("CERCLE_KAFKA_BOOTSTRAP", "127.0.0.1:9")  # never reached: the command reads only FILE
    main = __import__(f"cercle_{service}.main", fromlist=["main"]).main
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["reapply-erasures", str(path)])
    out = capsys.readouterr().out
    assert exited.value.code == 0, out
    return out


def from_the_topic(kafka) -> list[Record]:
    return ops_erasures.read(KafkaSettings(kafka_bootstrap=kafka.bootstrap))


def harness(service: str, new_database) -> ServiceHarness:
    url = new_database(service)
    upgrade(SERVICES[service].bootstrap().MIGRATIONS, url)
    return ServiceHarness(service, url)


# --- registration -------------------------------------------------------------------------------------------------


def register(h: ServiceHarness, name: str, community_id: str) -> str:
    created = h.api.post(
        "/v1/members",
        headers=h.as_operator(),
        json={
            "display_name": name,
            "email": f"{name.split()[0].lower()}.{uuid.uuid4().hex[:6]}@example.org",
            "region": "13",
            "consents": {"processing": True},
        },
    )
    assert created.status_code == 201, created.text
    member_id = created.json()["id"]
    joined = h.api.post(
        f"/v1/communities/{community_id}/memberships", headers=h.as_operator(), json={"member_id": member_id}
    )
    assert joined.status_code == 201, joined.text
    return str(member_id)


def memberships_of(h: ServiceHarness, member_id: str) -> int:
    with h.runtime.engine.connect() as connection:
        return int(connection.scalar(text("select count(*) from memberships where member_id = :m"), {"m": member_id}))


def erasures_published(h: ServiceHarness, member_id: str) -> tuple[int, int]:
    """(MemberErased rows, contact tombstones) for the member in the outbox."""
    outbox = h.runtime.tables.outbox
    with h.runtime.db_factory() as db:
        erased = db.scalar(
            select(func.count()).where(outbox.c.key == member_id, outbox.c.event_type == ERASED).select_from(outbox)
        )
        tombstones = db.scalar(
            select(func.count())
            .where(outbox.c.key == member_id, outbox.c.topic == MEMBER_CONTACTS.name, outbox.c.value.is_(None))
            .select_from(outbox)
        )
    return int(erased or 0), int(tombstones or 0)


def contact_records(h: ServiceHarness, member_id: str) -> int:
    """Her contact events (name, email) in the outbox, published or not."""
    outbox = h.runtime.tables.outbox
    with h.runtime.db_factory() as db:
        return int(
            db.scalar(
                select(func.count())
                .where(outbox.c.key == member_id, outbox.c.topic == MEMBER_CONTACTS.name, outbox.c.value.is_not(None))
                .select_from(outbox)
            )
            or 0
        )


def test_a_restored_registration_erases_again_every_member_erased_since_the_backup(
    kafka, postgres, new_database, tmp_path, monkeypatch, capsys
):
    h = harness("registration", new_database)
    op = h.as_operator()
    community = h.api.post(
        "/v1/communities", headers=op, json={"name_fr": "CoP Restauration", "name_en": "Restore CoP", "regions": ["13"]}
    )
    assert community.status_code == 201, community.text
    community_id = community.json()["id"]
    anne, bruno, chloe = (register(h, name, community_id) for name in ("Anne Restore", "Bruno Kept", "Chloe Pending"))
    relay(h, kafka.bootstrap)
    backup = pg_dump(postgres, h.database_url, tmp_path / "registration.dump")

    assert h.api.delete(f"/v1/members/{anne}", headers=op).status_code == 204
    relay(h, kafka.bootstrap)  # Anne's erasure is on the members topic
    assert h.api.delete(f"/v1/members/{chloe}", headers=op).status_code == 204
    pending = unpublished_erasures(h)  # Chloe's is not yet: registration stopped before its relay sent it
    assert [row["key"] for row in pending] == [chloe]

    h.runtime.engine.dispose()
    pg_restore(postgres, h.database_url, backup)
    for member in (anne, bruno, chloe):
        assert h.api.get(f"/v1/members/{member}", headers=op).status_code == 200  # the backup has them all
    before = erasures_published(h, anne)

    records = from_the_topic(kafka) + ops_erasures.from_outbox(pending)
    assert anne in {r.key.decode() for r in records if r.key}
    out = reapply("registration", h.database_url, records, tmp_path, monkeypatch, capsys)

    assert "registration:" in out
    for member in (anne, chloe):
        assert h.api.get(f"/v1/members/{member}", headers=op).status_code == 404
        assert memberships_of(h, member) == 0
    assert h.api.get(f"/v1/members/{bruno}", headers=op).status_code == 200
    assert memberships_of(h, bruno) == 1
    # Published again: the others' reactions find nothing left, the tombstone deletes a contact record again.
    assert erasures_published(h, anne) == (before[0] + 1, before[1] + 1)
    assert erasures_published(h, chloe) == (1, 1)
    assert contact_records(h, anne) == contact_records(h, chloe) == 0  # the tombstone took them out of the outbox
    assert contact_records(h, bruno) == 1
    again = erasures_published(h, anne), erasures_published(h, chloe)

    out = reapply("registration", h.database_url, records, tmp_path, monkeypatch, capsys)
    assert "; 0 not recorded" in out
    assert (erasures_published(h, anne), erasures_published(h, chloe)) == again
    h.runtime.engine.dispose()


# --- the services that follow MemberErased ------------------------------------------------------------------------


def consumed(h: ServiceHarness, event, event_id: str | None = None) -> None:
    """Deliver `event` through the service's consumer path if it subscribes to it."""
    envelope = Envelope.wrap(event, source="/cercle/registration")
    if event_id:
        envelope = dataclasses.replace(envelope, id=event_id)
    key, value, headers = envelope.to_kafka()
    record = Record(CATALOG.for_event(event).topic.name, 0, 0, key, value, {n: v.encode() for n, v in headers.items()})
    h.runtime.messaging.consumer.apply_now(record)


def produce(kafka, event, event_id: str) -> None:
    envelope = dataclasses.replace(Envelope.wrap(event, source="/cercle/registration"), id=event_id)
    key, value, headers = envelope.to_kafka()
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    try:
        topic = CATALOG.for_event(event).topic.name
        producer.send(topic, key=key, value=value, headers=[(n, v.encode()) for n, v in headers.items()]).get(10)
    finally:
        producer.close()


def ledger_has(h: ServiceHarness, member_id: str) -> bool:
    with h.runtime.engine.connect() as connection:
        return bool(
            connection.scalar(text("select count(*) from erased_members where key = :k"), {"k": erasure_key(member_id)})
        )


@pytest.mark.parametrize("service", ["sessions", "notifications", "insights"])
def test_a_restored_consumer_applies_again_the_erasures_its_backup_had_not_seen(
    service, kafka, postgres, new_database, tmp_path, monkeypatch, capsys
):
    h = harness(service, new_database)
    now = datetime.now(UTC)
    community, marie, paul = new_id(), new_id(), new_id()
    consumed(
        h,
        reg.CommunityCreated(
            community_id=community,
            name_fr="CoP Sauvegarde",
            name_en="Backup CoP",
            kind="community_of_practice",
            regions=["13"],
            cadence=6,
            status="active",
            created_at=now,
        ),
    )
    for member in (marie, paul):
        consumed(
            h,
            reg.MembershipJoined(
                membership_id=new_id(), community_id=community, member_id=member, role="participant", joined_at=now
            ),
        )
        consumed(
            h,
            reg.MemberContactChanged(
                member_id=member,
                email=f"{member[:8]}@example.org",
                display_name="Marie Tremblay",
                language="fr",
                consents={"processing": True, "email": True},
                updated_at=now,
            ),
        )
    backup = pg_dump(postgres, h.database_url, tmp_path / f"{service}.dump")

    erased_id = new_id()
    erasure = reg.MemberErased(member_id=marie, erased_at=now)
    consumed(h, erasure, erased_id)  # the running service followed her erasure ...
    produce(kafka, erasure, erased_id)  # ... read from the members topic, which keeps it
    assert ledger_has(h, marie)
    assert memberships_of(h, marie) == 0

    h.runtime.engine.dispose()
    pg_restore(postgres, h.database_url, backup)
    assert not ledger_has(h, marie)  # the backup had not seen it, and the group's offsets are past it
    assert memberships_of(h, marie) == 1

    # Her erasure as the restore reads it; the topic also holds other tests' erasures (the session's broker is shared),
    # valid or not, which would change the counts below.
    records = [r for r in from_the_topic(kafka) if r.key == marie.encode()]
    assert len(records) == 1
    # A record the running services dead-lettered (not a valid MemberErased) is skipped, not a reason to stop.
    poison = dataclasses.replace(records[-1], value=b'{"member_id": 7}')
    out = reapply(service, h.database_url, [poison, *records], tmp_path, monkeypatch, capsys)

    assert f"{service}:" in out
    assert "1 invalid records skipped" in out
    assert ledger_has(h, marie)
    assert memberships_of(h, marie) == 0
    assert not ledger_has(h, paul)
    assert memberships_of(h, paul) == 1
    with h.runtime.engine.connect() as connection:
        recorded = connection.scalar(
            text("select count(*) from processed_events where consumer = :c and event_id = :e"),
            {"c": service, "e": erased_id},
        )
    assert recorded == 1  # so that the running service, should it see it again, skips it
    if service in ("sessions", "notifications"):
        contacts = "member_contacts" if service == "sessions" else "contacts"
        with h.runtime.engine.connect() as connection:
            assert connection.scalar(text(f"select count(*) from {contacts} where member_id = :m"), {"m": marie}) == 0
            assert connection.scalar(text(f"select count(*) from {contacts} where member_id = :m"), {"m": paul}) == 1

    out = reapply(service, h.database_url, records, tmp_path, monkeypatch, capsys)
    assert "; 0 not recorded" in out
    h.runtime.engine.dispose()


def test_a_file_line_that_is_not_a_record_is_refused_before_anything_is_applied(
    new_database, tmp_path, monkeypatch, capsys
):
    h = harness("sessions", new_database)
    path = tmp_path / "broken.jsonl"
    path.write_text('{"topic": "cercle.registration.members"}\n')
    monkeypatch.setenv("CERCLE_DATABASE_URL", h.database_url)
    monkeypatch.setenv("CERCLE_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("CERCLE_KAFKA_BOOTSTRAP", "127.0.0.1:9")
    from cercle_sessions.main import main

    with pytest.raises(SystemExit) as exited:
        main(["reapply-erasures", str(path)])
    assert exited.value.code == 2
    assert "line 1" in capsys.readouterr().out
    h.runtime.engine.dispose()


# --- a hostile record on the members topic ------------------------------------------------------------------------


class _RawName(str):
    """A header name sent as bytes that are not UTF-8 (kafka-python encodes names with str.encode)."""

    def encode(self, *args, **kwargs):
        return b"\xff\xfe"


def test_records_the_kafka_client_cannot_unpack_or_that_are_not_events_do_not_stop_the_reading_of_erasures(kafka):
    member = new_id()
    erased = Envelope.wrap(
        reg.MemberErased(member_id=member, erased_at=datetime.now(UTC)), source="/cercle/registration"
    )
    key, value, headers = erased.to_kafka()
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    try:
        topic = CATALOG.for_event(reg.MemberErased(member_id=member, erased_at=datetime.now(UTC))).topic.name
        # Same key, so same partition, and before the valid erasure: a reader stuck on it would never reach it.
        producer.send(
            topic,
            key=key,
            value=value,
            headers=[(_RawName("x"), b"v"), *((n, v.encode()) for n, v in headers.items())],
        ).get(10)
        # Named MemberErased, but its value is not UTF-8: not an event, and it could not be written to the file.
        producer.send(topic, key=key, value=b"\xff\xfe", headers=[(n, v.encode()) for n, v in headers.items()]).get(10)
        producer.send(topic, key=key, value=value, headers=[(n, v.encode()) for n, v in headers.items()]).get(10)
    finally:
        producer.close()

    read = [r for r in from_the_topic(kafka) if r.key == key]
    ops_erasures.to_file(read)  # what the restore writes for the services

    assert len(read) == 1  # the valid erasure; the unreadable one, which no service applied, is passed over
    assert Envelope.from_kafka(read[0].key, read[0].value, read[0].headers).id == erased.id
