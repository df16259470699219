"""The event catalog and the committed JSON Schemas: compatibility and privacy are checked here."""

import json
from datetime import datetime

import pytest
from pydantic import Field

from cercle_shared import schemas_tool
from cercle_shared.contracts import CATALOG, EventCatalog, EventSpec, IntegrationEvent, Visibility, topics

PERSONAL_FIELDS = {"email", "display_name", "first_name", "last_name", "full_name", "phone", "address", "voter_id"}


def _property_names(schema: dict, node: dict | None = None) -> set[str]:
    node = schema if node is None else node
    names: set[str] = set()
    for key, value in node.get("properties", {}).items():
        names.add(key)
        names |= _property_names(schema, value)
        names |= _property_names(schema, value.get("items", {}) if isinstance(value.get("items"), dict) else {})
    for definition in schema.get("$defs", {}).values() if node is schema else ():
        names |= _property_names(schema, definition)
    return names


def test_every_event_type_has_a_committed_schema_and_no_incompatible_change():
    assert schemas_tool.check() == []


@pytest.mark.parametrize("spec", [s for s in CATALOG if s.partner_visible], ids=lambda s: s.type)
def test_partner_visible_events_carry_no_name_or_email(spec: EventSpec):
    assert not (_property_names(spec.json_schema()) & PERSONAL_FIELDS)


def test_contact_data_travels_only_on_the_internal_compacted_topic():
    carriers = [s for s in CATALOG if "email" in s.model.model_fields]
    assert carriers, "some event must carry contacts"
    assert {s.topic.name for s in carriers} == {topics.MEMBER_CONTACTS.name}
    assert topics.MEMBER_CONTACTS.compacted
    assert topics.MEMBER_CONTACTS.visibility is Visibility.INTERNAL


def test_event_types_are_versioned_and_keyed_by_a_payload_field():
    for spec in CATALOG:
        assert spec.type.startswith("org.cercle.")
        assert spec.type.rsplit(".", 1)[1].startswith("v")
        assert spec.key in spec.model.model_fields
        for name, field in spec.model.model_fields.items():
            assert field.description, f"{spec.type}.{name} has no description"


class _V1(IntegrationEvent):
    thing_id: str = Field(description="id")
    count: int = Field(description="count")
    note: str | None = Field(default=None, description="note")


def _schema_of(model) -> dict:
    spec = EventSpec("org.cercle.test.thing.happened.v1", model, topics.MEMBERS, "thing_id")
    return spec.json_schema()


class _Removed(IntegrationEvent):
    thing_id: str = Field(description="id")
    note: str | None = Field(default=None, description="note")


class _Retyped(IntegrationEvent):
    thing_id: str = Field(description="id")
    count: str = Field(description="count")
    note: str | None = Field(default=None, description="note")


class _NewRequired(_V1):
    at: datetime = Field(description="when")


class _NewOptional(_V1):
    extra: str | None = Field(default=None, description="optional addition")


@pytest.mark.parametrize(
    ("model", "expected"),
    [(_Removed, "removed"), (_Retyped, "retyped"), (_NewRequired, "new required field")],
)
def test_an_incompatible_change_is_detected(model, expected):
    problems = schemas_tool.incompatibilities(_schema_of(_V1), _schema_of(model))
    assert any(expected in p for p in problems), problems


def test_an_optional_field_added_is_compatible():
    assert schemas_tool.incompatibilities(_schema_of(_V1), _schema_of(_NewOptional)) == []


def test_check_flags_a_missing_schema_file_and_a_changed_one(tmp_path):
    catalog = EventCatalog([EventSpec("org.cercle.test.thing.happened.v1", _V1, topics.MEMBERS, "thing_id")])
    assert any("no committed schema" in p for p in schemas_tool.check(catalog, tmp_path))
    schemas_tool.generate(catalog, tmp_path)
    assert schemas_tool.check(catalog, tmp_path) == []
    changed = EventCatalog([EventSpec("org.cercle.test.thing.happened.v1", _Retyped, topics.MEMBERS, "thing_id")])
    assert any("retyped" in p for p in schemas_tool.check(changed, tmp_path))
    stored = json.loads((tmp_path / "org.cercle.test.thing.happened.v1.json").read_text())
    assert stored["x-cercle-topic"] == topics.MEMBERS.name


def test_the_catalog_refuses_a_key_that_is_not_a_field():
    with pytest.raises(ValueError, match="key field"):
        EventCatalog([EventSpec("org.cercle.test.x.v1", _V1, topics.MEMBERS, "nope")])


def test_the_readme_lists_every_topic_as_declared():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    for topic in topics.ALL_TOPICS:
        assert f"| `{topic.name}` | {topic.partitions} |" in readme, f"README does not list {topic.name}"
