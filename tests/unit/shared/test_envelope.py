from datetime import UTC, datetime

import pytest

from cercle_shared.contracts import registration as r
from cercle_shared.messaging.envelope import Envelope, InvalidMessage


def _registered() -> r.MemberRegistered:
    return r.MemberRegistered(member_id="m-1", region="06", language="fr", registered_at=datetime.now(UTC))


def test_an_event_travels_as_a_cloudevent_in_the_kafka_binary_binding():
    envelope = Envelope.wrap(_registered(), source="/cercle/registration", correlation_id="corr-1")
    key, value, headers = envelope.to_kafka()

    assert key == b"m-1"
    assert headers["ce_type"] == "org.cercle.registration.member.registered.v1"
    assert headers["ce_source"] == "/cercle/registration"
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_subject"] == "m-1"
    assert headers["ce_correlationid"] == "corr-1"
    assert headers["content-type"] == "application/json"

    back = Envelope.from_kafka(key, value, {k: v.encode() for k, v in headers.items()})
    assert back.id == envelope.id
    assert back.correlation_id == "corr-1"
    assert back.payload() == _registered().model_copy(update={"registered_at": back.payload().registered_at})


def test_a_record_without_cloudevents_headers_is_invalid():
    with pytest.raises(InvalidMessage):
        Envelope.from_kafka(b"k", b'{"a": 1}', {}).payload()


def test_a_payload_that_does_not_match_its_schema_is_invalid():
    _, _value, headers = Envelope.wrap(_registered(), source="/t").to_kafka()
    with pytest.raises(InvalidMessage, match="does not match"):
        Envelope.from_kafka(b"m-1", b'{"member_id": 3}', {k: v.encode() for k, v in headers.items()}).payload()


def test_a_tombstone_is_not_an_event():
    with pytest.raises(InvalidMessage):
        Envelope.from_kafka(b"m-1", None, {})
