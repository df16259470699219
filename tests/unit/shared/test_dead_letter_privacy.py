"""Dead letters are kept 30 days and erasure does not reach them: one from a topic that carries names and emails
keeps a digest of the record, never its value."""

import asyncio
import json
from datetime import UTC, datetime

from cercle_shared.contracts import registration as r
from cercle_shared.contracts import topics
from cercle_shared.messaging import Envelope, Record

from .test_hostile_records import Recorder, _consumer

EMAIL = "ana.hidden@example.org"


def _contact_record(headers_extra: dict[str, bytes], value: bytes | None = None) -> Record:
    event = r.MemberContactChanged(
        member_id="m-1",
        email=EMAIL,
        display_name="Ana Hidden",
        language="fr",
        consents={"email": True},
        updated_at=datetime.now(UTC),
    )
    key, raw, headers = Envelope.wrap(event, source="/t").to_kafka()
    return Record(
        topic=topics.MEMBER_CONTACTS.name,
        partition=0,
        offset=7,
        key=key,
        value=raw if value is None else value,
        headers={**{k: v.encode() for k, v in headers.items()}, **headers_extra},
    )


def test_a_dead_lettered_contact_keeps_a_digest_not_the_name_or_email(database):
    dlq = Recorder()
    record = _contact_record({"ce_specversion": b"0.3"})  # poison: dead-lettered at once
    asyncio.run(_consumer(database, dlq).handle(record))
    [(_, key, value, headers)] = dlq.sent
    assert value is None
    assert headers["dlq_value_withheld"] == "personal data"
    assert headers["dlq_value_bytes"] == str(len(record.value or b""))
    assert len(headers["dlq_value_sha256"]) == 64
    assert key == b"m-1"
    assert EMAIL not in json.dumps(headers)
    assert "Ana Hidden" not in json.dumps(headers)


def test_a_dead_letter_from_a_topic_without_personal_data_keeps_its_value(database):
    dlq = Recorder()
    event = r.MemberRegistered(member_id="m-2", language="fr", registered_at=datetime.now(UTC))
    key, value, headers = Envelope.wrap(event, source="/t").to_kafka()
    record = Record(
        topic=topics.MEMBERS.name,
        partition=0,
        offset=1,
        key=key,
        value=value,
        headers={**{k: v.encode() for k, v in headers.items()}, "ce_specversion": b"0.3"},
    )
    asyncio.run(_consumer(database, dlq).handle(record))
    [(_, _, kept, _)] = dlq.sent
    assert kept == value
