"""Sizing on paper: events per day and Kafka storage per year for a region, the province and ten times that.

    python -m benchmarks.sizing [--replication 3]

Bytes per event: each contract's example (its JSON Schema `examples`, typical values elsewhere) wrapped as the
relay publishes it (CloudEvents binary mode: key, JSON value, ce_* headers) plus about 20 bytes of record framing.
Events per year: the activity model below, stated so that it can be argued with. Storage: each topic's retention
(shared/cercle_shared/contracts/topics.py): kept forever topics grow by a year's events per year; compacted ones
hold the latest record per key; 30-day and one-hour topics hold that window of traffic. Times the replication
factor. Indexes, segment slack and the outboxes (purged once published) are not counted.
"""

from __future__ import annotations

import argparse
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cercle_shared.contracts import CATALOG
from cercle_shared.contracts.topics import DAY_MS, FOREVER
from cercle_shared.messaging import Envelope

RECORD_FRAMING = 20  # bytes per record in a batch (lengths, offsets, timestamps deltas, attribute byte)


def _example_value(schema: dict[str, Any], name: str, defs: dict[str, Any]) -> Any:
    if "$ref" in schema:
        return _example_object(defs[schema["$ref"].split("/")[-1]], defs)
    if "examples" in schema:
        return schema["examples"][0]
    if "anyOf" in schema:  # optional fields: filled, as a typical event has them
        branch = next((b for b in schema["anyOf"] if b.get("type") != "null"), {"type": "null"})
        return _example_value(branch, name, defs)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "date-time":
            return datetime(2026, 11, 26, 14, 0, tzinfo=UTC).isoformat()
        if schema.get("format") == "date":
            return "2026-11-26"
        if name.endswith("_id") or name == "id":
            return str(uuid.uuid4())
        if name in {"email", "to"}:
            return "marie.tremblay@example.org"
        if name in {"language", "locale"}:
            return "fr"
        return "Texte d'exemple typique"[: max(1, min(24, schema.get("maxLength", 24)))]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "array":
        item = schema.get("items", {"type": "string"})
        singular = name[:-1] if name.endswith("s") else name
        count = 12 if name.endswith("_ids") else 2  # e.g. the members present at a session
        return [_example_value(item, singular, defs) for _ in range(count)]
    if kind == "object":
        return _example_object(schema, defs)
    return None


def _example_object(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    props = schema.get("properties", {})
    if not props and isinstance(schema.get("additionalProperties"), dict):
        return {"processing": True, "email": True}
    return {key: _example_value(prop, key, defs) for key, prop in props.items()}


def event_sizes() -> dict[str, int]:
    """Bytes per record on Kafka, by event type."""
    sizes: dict[str, int] = {}
    for spec in CATALOG:
        schema = spec.model.model_json_schema()
        defs = schema.get("$defs", {})
        try:
            event = spec.model.model_validate(_example_object(schema, defs))
        except Exception:
            event = spec.model.model_validate(json.loads(json.dumps(_example_object(schema, defs), default=str)))
        key, value, headers = Envelope.wrap(event, source=f"/cercle/{spec.type.split('.')[2]}").to_kafka()
        header_bytes = sum(len(k) + len(v.encode()) for k, v in headers.items())
        sizes[spec.type] = len(key or b"") + len(value or b"") + header_bytes + RECORD_FRAMING
    return sizes


def _t(name: str) -> str:
    return next(spec.type for spec in CATALOG if spec.type.split(".", 3)[3].removesuffix(".v1") == name)


# Events per year, per unit. The assumptions (a community meets `sessions` times a year, members turn over by a
# quarter a year, each session's members register, are reminded, attend, answer a survey...).
PER_MEMBER_YEAR = {
    "member.registered": 0.25,
    "member.profile_updated": 0.5,
    "member.consent_changed": 0.5,
    "member.erased": 0.05,
    "member.contact_changed": 0.75,
    "member.sign_in_link_requested": 6,
    "membership.joined": 0.25,
    "membership.role_changed": 0.05,
    "membership.left": 0.2,
    "ballot.cast": 0.6,
    "vote.cast": 0.6,
    "action_plan.nudged": 2,
}
PER_MEMBER_SESSION = {
    "registration.confirmed": 0.8,
    "registration.waitlisted": 0.05,
    "registration.promoted": 0.03,
    "registration.cancelled": 0.1,
    "survey.invitation_issued": 0.7,  # post-session feedback, to those present
    # emails per member and session: confirmation, two reminders, the summary; plus announcements
    "email.delivery_recorded": 4.5,
}
PER_SESSION = {
    "session.scheduled": 1,
    "session.rescheduled": 0.3,
    "session.cancelled": 0.05,
    "session.held": 1,
    "attendance.recorded": 1,
    "summary.published": 1,
    "resource.shared": 2,
}
PER_COMMUNITY_YEAR = {
    "community.created": 0.1,
    "community.updated": 1,
    "community.status_changed": 0.1,
    "cycle.opened": 1,
    "theme.proposed": 6,
    "theme.merged": 1,
    "themes.retained": 1,
    "community.health_alerted": 0.5,
}
PER_ORGANIZATION_YEAR = {"organization.created": 0.1, "organization.updated": 0.5, "organization.deleted": 0.01}


@dataclass(frozen=True)
class Scale:
    name: str
    communities: int
    members_per_community: int
    sessions_per_community: int
    organizations: int

    @property
    def members(self) -> int:
        return self.communities * self.members_per_community


SCALES = (
    Scale("one region (8 communities × 20 members × 8 sessions)", 8, 20, 8, 40),
    Scale("the province (17 regions × 50 communities × 50 members)", 17 * 50, 50, 8, 17 * 200),
    Scale("ten times the province", 10 * 17 * 50, 50, 8, 10 * 17 * 200),
)


def events_per_year(scale: Scale) -> dict[str, float]:
    """Event type -> events per year at this scale."""
    out: dict[str, float] = {}
    sessions = scale.communities * scale.sessions_per_community
    for table, units in (
        (PER_MEMBER_YEAR, scale.members),
        (PER_MEMBER_SESSION, sessions * scale.members_per_community),
        (PER_SESSION, sessions),
        (PER_COMMUNITY_YEAR, scale.communities),
        (PER_ORGANIZATION_YEAR, scale.organizations),
    ):
        for name, rate in table.items():
            out[_t(name)] = out.get(_t(name), 0.0) + rate * units
    return out


def storage(scale: Scale, sizes: dict[str, int]) -> tuple[float, float, dict[str, float]]:
    """(events per day, bytes kept on one replica after a year, bytes per topic)."""
    per_year = events_per_year(scale)
    by_topic: dict[str, float] = {}
    spec_of = {spec.type: spec for spec in CATALOG}
    for event_type, count in per_year.items():
        spec = spec_of[event_type]
        topic = spec.topic
        yearly = count * sizes[event_type]
        if topic.compacted:
            kept = scale.members * sizes[event_type]  # the latest record per key
        elif topic.retention_ms == FOREVER:
            kept = yearly
        else:
            kept = yearly * min(1.0, (topic.retention_ms or 0) / (365 * DAY_MS))
        by_topic[topic.name] = by_topic.get(topic.name, 0.0) + kept
    return sum(per_year.values()) / 365, sum(by_topic.values()), by_topic


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} PB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replication", type=int, default=3, help="replication factor of the topics")
    args = parser.parse_args()
    sizes = event_sizes()
    print("bytes per record on Kafka, by event type (contract examples, CloudEvents binary mode):")
    for event_type, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"  {size:6d}  {event_type}")
    print()
    print(
        "| scale | members | events/year | events/day (avg) | peak events/s (×20 avg) | "
        f"kept after a year ×{args.replication} |"
    )
    print("|---|---|---|---|---|---|")
    for scale in SCALES:
        per_day, kept, _ = storage(scale, sizes)
        per_year = per_day * 365
        peak = per_day / 86400 * 20
        print(
            f"| {scale.name} | {scale.members:,} | {per_year:,.0f} | {per_day:,.0f} | {peak:,.1f} | "
            f"{_human(kept * args.replication)} |"
        )


if __name__ == "__main__":
    main()
