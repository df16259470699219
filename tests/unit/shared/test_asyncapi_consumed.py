"""The AsyncAPI document lists, per consumed topic, exactly the event types the service handles, with their schemas;
the rendered page shows that same document."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import MetaData

from cercle_shared.contracts import CATALOG
from cercle_shared.contracts import registration as r
from cercle_shared.messaging import Subscriptions
from cercle_shared.service import ServiceRuntime, create_app, document_consumed
from cercle_shared.settings import ServiceSettings
from cercle_shared.uow import UnitOfWork

MEMBERS = "cercle.registration.members"
COMMUNITIES = "cercle.registration.communities"
REGISTERED = "org.cercle.registration.member.registered.v1"
CREATED = "org.cercle.registration.community.created.v1"


def _ignore(*_: object) -> None:
    return None


def _subscriptions() -> Subscriptions:
    return Subscriptions().on(r.MemberRegistered, _ignore).on(r.CommunityCreated, _ignore)


def _faststream_like() -> dict[str, Any]:
    """What FastStream writes for the one batch subscriber: a placeholder payload, plus unrelated entries."""
    return {
        "asyncapi": "3.0.0",
        "servers": {"development": {"host": "localhost:9092", "protocol": "kafka"}},
        "channels": {
            "svc:consume": {"address": "svc:consume", "messages": {"Message": {"$ref": "#/x"}}},
            "cercle.sessions.sessions:Publisher": {"address": "cercle.sessions.sessions"},
        },
        "operations": {"svc:consumeSubscribe": {"action": "receive"}},
        "components": {
            "messages": {"svc:consume:Message": {"payload": {}}, "Kept": {"payload": {}}},
            "schemas": {"svc:consume:Message:Payload": {"title": "placeholder"}, "Kept": {"type": "object"}},
        },
    }


def test_each_consumed_topic_lists_only_its_handled_types_with_their_schemas():
    document = document_consumed(_faststream_like(), "svc", _subscriptions())

    assert set(document["channels"]) == {
        "svc:consume:" + MEMBERS,
        "svc:consume:" + COMMUNITIES,
        "cercle.sessions.sessions:Publisher",  # what the service publishes is untouched
    }
    members = document["channels"]["svc:consume:" + MEMBERS]
    communities = document["channels"]["svc:consume:" + COMMUNITIES]
    assert members["address"] == MEMBERS
    assert members["bindings"]["kafka"]["topic"] == MEMBERS
    assert list(members["messages"]) == [REGISTERED]  # not member.erased, on the same topic but not handled
    assert list(communities["messages"]) == [CREATED]  # not community.updated nor status_changed
    assert members["servers"] == [{"$ref": "#/servers/development"}]
    assert REGISTERED in members["description"]

    messages = document["components"]["messages"]
    schemas = document["components"]["schemas"]
    for event_type, model in ((REGISTERED, r.MemberRegistered), (CREATED, r.CommunityCreated)):
        topic = CATALOG.by_type(event_type).topic.name
        message = messages[f"svc:consume:{topic}:{event_type}"]
        assert message["name"] == event_type
        assert message["payload"] == {"$ref": f"#/components/schemas/{event_type}:Payload"}
        assert schemas[f"{event_type}:Payload"] == model.model_json_schema(ref_template="#/components/schemas/{model}")
        receive = document["operations"][f"svc:consume:{topic}:receive"]
        assert receive["action"] == "receive"
        assert receive["channel"] == {"$ref": f"#/channels/svc:consume:{topic}"}
        assert receive["messages"] == [{"$ref": f"#/channels/svc:consume:{topic}/messages/{event_type}"}]

    # FastStream's placeholders are gone; unrelated components stay
    assert "svc:consumeSubscribe" not in document["operations"]
    assert "svc:consume:Message" not in messages
    assert "svc:consume:Message:Payload" not in schemas
    assert messages["Kept"] == {"payload": {}}
    assert schemas["Kept"] == {"type": "object"}
    assert not any("erased" in name or "updated" in name for name in [*messages, *schemas])


def test_a_tombstone_handler_documents_a_null_payload_on_its_topic():
    subscriptions = Subscriptions().on_tombstone("cercle.registration.member-contacts", _ignore)
    document = document_consumed(_faststream_like(), "svc", subscriptions)
    channel = document["channels"]["svc:consume:cercle.registration.member-contacts"]
    assert list(channel["messages"]) == ["tombstone"]
    assert document["components"]["messages"]["svc:consume:tombstone"]["payload"] == {"type": "null"}


def test_a_service_without_subscriptions_keeps_the_document_as_it_is():
    assert document_consumed(_faststream_like(), "svc", None) == _faststream_like()


def test_the_rendered_page_shows_the_corrected_document():
    settings = ServiceSettings(
        database_url="sqlite:///:memory:", jwt_secret="x" * 40, kafka_bootstrap="127.0.0.1:9", http_port=1
    )
    runtime = ServiceRuntime.build(
        "svc", settings, MetaData(), lambda db_factory, _outbox: UnitOfWork(db_factory), _subscriptions()
    )
    client = TestClient(create_app(runtime, [], title="svc", description="test"))  # no lifespan: nothing connects
    page = client.get("/asyncapi")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>Cercle svc events AsyncAPI</title>" in page.text
    assert f"svc:consume:{MEMBERS}" in page.text
    assert f"{REGISTERED}:Payload" in page.text
    assert "member.erased" not in page.text
    assert "tryitout" not in page.text.lower().replace("-", "")
    served = client.get("/asyncapi.json").json()
    assert served == json.loads(json.dumps(runtime.asyncapi()))
    assert f"svc:consume:{MEMBERS}" in served["channels"]
