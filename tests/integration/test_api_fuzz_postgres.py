"""The API fuzzing of tests/unit/test_api_fuzz.py, on PostgreSQL, plus values only PostgreSQL refuses.

SQLite stores a 10 000-character string in a VARCHAR(200), 2**63 in an INTEGER, a NUL in a TEXT and year 1 at
UTC-12; PostgreSQL raises, and an exception that reaches a route is a 500. So each service's own app runs on a
fresh PostgreSQL database (migrated, a community and a member fed through its consumer where it has one), and:
Schemathesis draws requests from its OpenAPI document (the unit test's helpers, derandomized); every query
parameter and header gets the unit test's hostile values; and every body field and path parameter of every
operation, on a request otherwise accepted (ids of resources created earlier in the run, the current ETag), gets
the hostile values of its type: over-long strings, NUL, lone surrogates, integers past int4 and int8, years 1 and
9999 at odd offsets, impossible dates, deep JSON. The answer must be below 500.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from cercle_shared.contracts import registration as reg
from cercle_shared.db.migrations import upgrade
from tests.support.harness import ServiceHarness
from tests.support.services import SERVICES, auth
from tests.unit.test_api_fuzz import _failures, _hostile_parameter_failures

pytestmark = pytest.mark.integration

COMMUNITY, MEMBER, ORGANIZATION = "c-fuzz", "m-fuzz", "o-fuzz"
SKIPPED = {"/readyz"}  # no broker here: 503 is its right answer

LONG = "x" * 10_000
HOSTILE_STRINGS = [LONG, "a\x00b", "a\udfffb"]
HOSTILE_DATETIMES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "2024-01-01T00:00:00-23:59",
    "2024-02-30T00:00:00Z",
]
HOSTILE_DATES = ["0001-01-01", "9999-12-31", "2024-02-30"]
HOSTILE_INTEGERS = [2**31, 2**63, -(2**63) - 1]
HOSTILE_NUMBERS = [*HOSTILE_INTEGERS, 1e308, math.nan, math.inf]
# Sent already percent-encoded: a path segment longer than any id, NUL, invalid UTF-8, a lone surrogate's bytes.
HOSTILE_PATH = [LONG, "%00", "%ED%A0%80", str(2**63)]
DEEP = 100_000
DEEP_OBJECT = "<an object nested 5000 deep>"  # spliced into the JSON text: json.dumps itself would recurse too deep
DEEP_OBJECT_JSON = '{"a": ' * 5000 + "{}" + "}" * 5000


def _seed(h: ServiceHarness) -> None:
    """A community with a member in the replicas of the services that consume registration's events."""
    if h.name == "registration":
        return
    now = datetime.now(UTC)
    events = [
        reg.OrganizationCreated(organization_id=ORGANIZATION, name="Org", region="06", created_at=now),
        reg.MemberRegistered(
            member_id=MEMBER, organization_id=ORGANIZATION, region="06", language="fr", registered_at=now
        ),
        reg.CommunityCreated(
            community_id=COMMUNITY,
            name_fr="CoP",
            name_en="CoP",
            kind="community_of_practice",
            regions=["06"],
            cadence=6,
            status="active",
            created_at=now,
        ),
        reg.MembershipJoined(
            membership_id="ms-fuzz", community_id=COMMUNITY, member_id=MEMBER, role="facilitator", joined_at=now
        ),
    ]
    for event in events:
        with contextlib.suppress(AssertionError):  # a service that does not consume this event
            h.publish(event)


def _service(name: str, new_database) -> ServiceHarness:
    url = new_database(f"fuzz_{name}")
    upgrade(SERVICES[name].bootstrap().MIGRATIONS, url)
    h = ServiceHarness(name, url)
    if name == "notifications":
        # Every webhook host resolves to loopback, which the guard refuses: no DNS query, no connection leaves.
        h.app.state.partners.guard.resolver = lambda host, port: ["127.0.0.1"]
        h.app.state.partners.client.guard.resolver = lambda host, port: ["127.0.0.1"]
    _seed(h)
    return h


@pytest.fixture
def service(request, new_database):
    h = _service(request.param, new_database)
    yield h
    h.runtime.engine.dispose()


def _operations(h: ServiceHarness):
    schema = schemathesis.openapi.from_asgi("/openapi.json", h.app)
    for operation in schema.get_all_operations():
        op = operation.ok()
        if op.path not in SKIPPED:
            yield op


@pytest.mark.parametrize("service", sorted(SERVICES), indirect=True)
def test_no_drawn_request_makes_a_service_answer_500_on_postgresql(service):
    failures: list[str] = []
    for op in _operations(service):
        if op.method.upper() != "GET":  # a read differs little between the two databases; the hostile queries below
            failures.extend(_failures(op, auth("operator")))  # still reach every read
        failures.extend(_hostile_parameter_failures(op, auth("operator")))
    assert not failures, f"{len(failures)} answers 500:\n" + "\n".join(failures[:30])


# --- hostile values in bodies and paths, on requests that otherwise reach the database ----------------------------


def _deref(node: Any, document: dict) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _kinds(schema: dict, document: dict) -> set[str]:
    """The JSON types (and string formats) a property accepts: 'string', 'date-time', 'date', 'integer', ..."""
    schema = _deref(schema, document)
    kinds: set[str] = set()
    for option in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        kinds |= _kinds(option, document)
    kind = schema.get("type")
    if kind == "string" and schema.get("format") in ("date-time", "date"):
        kinds.add(schema["format"])
    elif kind == "string" and "enum" not in schema:
        kinds.add("string")
    elif kind == "array":
        kinds |= {f"array:{k}" for k in _kinds(schema.get("items", {}), document)}
    elif kind in ("integer", "number", "object"):
        kinds.add(kind)
    return kinds


def _hostile_for(kinds: set[str]) -> list[Any]:
    values: list[Any] = []
    for kind in sorted(kinds):
        if kind == "string":
            values += HOSTILE_STRINGS
        elif kind == "date-time":
            values += HOSTILE_DATETIMES
        elif kind == "date":
            values += HOSTILE_DATES
        elif kind == "integer":
            values += HOSTILE_INTEGERS
        elif kind == "number":
            values += HOSTILE_NUMBERS
        elif kind == "object":
            values += [{LONG: LONG}, {"\x00": "\ud800"}, DEEP_OBJECT]
        elif kind.startswith("array:"):
            values += [[v] for v in _hostile_for({kind.removeprefix("array:")})] + [["a"] * 10_000]
    return values


def _seeds(h: ServiceHarness) -> dict[str, tuple[dict, dict[str, str]]]:
    """Bodies (and callers) that pass every cross-field rule, for the writes a drawn body seldom gets through: so that
    each hostile field value is the only thing wrong in the request and reaches the database."""
    now = h.clock.now
    day = timedelta(days=1)
    member = auth("member", member_id=MEMBER, communities=[COMMUNITY])
    operator = auth("operator")
    return {
        "POST /v1/communities/{community_id}/sessions": (
            {
                "title": "Nature",
                "starts_at": (now + 20 * day).isoformat(),
                "ends_at": (now + 20 * day + timedelta(hours=3)).isoformat(),
                "mode": "hybrid",
                "location": "Laval",
                "link": "https://meet.example/cop",
                "capacity": 3,
            },
            operator,
        ),
        "POST /v1/communities/{community_id}/cycles": (
            {
                "label": "2026-2027",
                "starts_on": str((now + 30 * day).date()),
                "ends_on": str((now + 300 * day).date()),
                "proposals_close_at": (now + 5 * day).isoformat(),
                "voting_opens_at": (now + 5 * day).isoformat(),
                "voting_closes_at": (now + 10 * day).isoformat(),
            },
            operator,
        ),
        "POST /v1/cycles/{cycle_id}/themes": ({"title": "Nature", "need": "se ressourcer"}, member),
        "POST /v1/sessions/{session_id}/registrations": ({}, member),
        "PUT /v1/sessions/{session_id}/summary": ({"body_fr": "Résumé"}, operator),
        "POST /v1/surveys": (
            {
                "community_id": COMMUNITY,
                "year": now.year,
                "opens_at": (now + day).isoformat(),
                "closes_at": (now + 20 * day).isoformat(),
            },
            operator,
        ),
        "POST /v1/action-plans": ({"title": "Pauses actives", "theme_id": "t-fuzz", "community_id": COMMUNITY}, member),
        "PATCH /v1/action-plans/{plan_id}": ({"title": "Pauses actives au bureau"}, member),
        "GET /v1/action-plans/{plan_id}": ({}, member),
        "POST /v1/action-plans/{plan_id}/steps": ({"step": "allies_found"}, member),
        "PUT /v1/partners/{organization_id}/grant": ({"event_types": ["org.cercle.sessions."]}, operator),
    }


class _Run:
    """Ids of the resources the run created, by the path parameter that names them, for the next operations."""

    ALIASES: ClassVar[dict[str, str]] = {"action-plans": "plan_id", "calendar-feed": "feed", "calendar-feeds": "feed"}

    def __init__(self, h: ServiceHarness) -> None:
        self.h = h
        self.document = h.app.openapi()
        self.ids: dict[str, list[str]] = {
            "community_id": [COMMUNITY],
            "member_id": [MEMBER],
            "organization_id": [ORGANIZATION],
            "code": ["06"],
        }
        self.failures: list[str] = []
        self.seeds = _seeds(h)

    def learn(self, path: str, answer: Any) -> None:
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
            return
        segment = [s for s in path.split("/") if s and not s.startswith("{")][-1]
        singular = segment[:-3] + "y" if segment.endswith("ies") else segment.removesuffix("s")
        name = self.ALIASES.get(segment, singular.replace("-", "_") + "_id")
        self.ids.setdefault(name, []).insert(0, answer["id"])

    def url(self, op, path_parameters: dict[str, Any], raw: dict[str, str] | None = None) -> str:
        def value(match: re.Match) -> str:
            name = match.group(1)
            if raw and name in raw:
                return raw[name]
            return quote(str(path_parameters.get(name, "x")), safe="")

        return re.sub(r"\{([^}]+)\}", value, op.path)

    def caller(self, op) -> dict[str, str]:
        return self.seeds.get(f"{op.method.upper()} {op.path}", (None, auth("operator")))[1]

    def headers(self, op, url: str) -> dict[str, str]:
        headers = {**self.caller(op), "Content-Type": "application/json"}
        declared = {p["name"].lower() for p in op.definition.raw.get("parameters", []) if p.get("in") == "header"}
        if "if-match" in declared:
            etag = self.h.api.get(url, headers=self.caller(op)).headers.get("ETag")
            if etag:  # else none: an optional If-Match left out lets a first save through
                headers["If-Match"] = etag
        return headers

    def send(self, op, url: str, body: Any, query: dict | None) -> Any:
        # ensure_ascii: a lone surrogate travels as \ud800; NaN and Infinity as Python's json writes them
        content = None if body is None else json.dumps(body).replace(json.dumps(DEEP_OBJECT), DEEP_OBJECT_JSON).encode()
        return self.h.api.request(op.method.upper(), url, content=content, params=query, headers=self.headers(op, url))

    def body_schema(self, op) -> dict | None:
        content = op.definition.raw.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            return None
        return _deref(content["application/json"].get("schema", {}), self.document)

    def accepted(self, op):
        """A drawn request with known ids in its path that the service accepts (2xx if one is found, else not 422)."""
        found: dict[str, Any] = {}
        names = re.findall(r"\{([^}]+)\}", op.path)

        @settings(
            max_examples=8, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=op.as_strategy())
        def draw(case):
            if "ok" in found:
                return
            path = dict(case.path_parameters or {})
            for name in names:
                path[name] = (self.ids.get(name) or [path.get(name, "x")])[0]
            body = case.body if isinstance(case.body, dict | list) else None
            seed = self.seeds.get(f"{op.method.upper()} {op.path}")
            if seed is not None and "seeded" not in found:
                found["seeded"] = True
                body = seed[0] if self.body_schema(op) is not None else None
            url = self.url(op, path)
            response = self.send(op, url, body, case.query)
            if response.status_code >= 500:
                self.failures.append(f"{op.method.upper()} {op.path} drawn {body!r:.200}: {response.status_code}")
            if response.status_code < 300:
                found["ok"] = (path, body, case.query)
                with contextlib.suppress(ValueError):
                    self.learn(op.path, response.json())
            elif response.status_code != 422 and "some" not in found:
                found["some"] = (path, body, case.query)
            found.setdefault("last", (path, body, case.query))

        draw()
        return found.get("ok") or found.get("some") or found["last"]

    def attack(self, op) -> None:
        path, body, query = self.accepted(op)
        where = f"{op.method.upper()} {op.path}"
        for name in re.findall(r"\{([^}]+)\}", op.path):
            for value in HOSTILE_PATH:
                self.check(where, f"path {name}={value[:40]!r}", op, self.url(op, path, {name: value}), body, query)
        schema = self.body_schema(op)
        if schema is None:
            return
        url = self.url(op, path)
        self.check(where, "a body nested 100000 deep", op, url, None, query, raw=b"[" * DEEP + b"]" * DEEP)
        if not isinstance(body, dict):
            return
        for field, prop in schema.get("properties", {}).items():
            for value in _hostile_for(_kinds(prop, self.document)):
                self.check(where, f"{field}={str(value)[:40]!r}", op, url, {**body, field: value}, query)

    def check(self, where, what, op, url, body, query, raw: bytes | None = None) -> None:
        try:
            if raw is not None:
                response = self.h.api.request(
                    op.method.upper(), url, content=raw, params=query, headers=self.headers(op, url)
                )
            else:
                response = self.send(op, url, body, query)
        except Exception as exc:  # the transport re-raises what the app raised: that was a 500
            self.failures.append(f"{where} {what}: raised {exc!r:.200}")
            return
        if response.status_code >= 500:
            self.failures.append(f"{where} {what}: {response.status_code} {response.text[:200]}")
        elif response.status_code < 300:
            with contextlib.suppress(ValueError):
                self.learn(op.path, response.json())


@pytest.mark.parametrize("service", sorted(SERVICES), indirect=True)
def test_hostile_body_fields_and_path_parameters_never_make_a_service_answer_500_on_postgresql(service):
    run = _Run(service)
    for op in _operations(service):
        run.attack(op)
    assert not run.failures, f"{len(run.failures)} answers 500:\n" + "\n".join(run.failures[:40])


IMPORT_HEADER = (
    "email,display_name,consent_processing,region,expertise,consent_directory,communities,role,organization_id"
)
IMPORT_ROW = ["a@example.org", "Alice", "yes", "06", "ergonomie", "oui", "{community}", "participant", ""]


@pytest.mark.parametrize("service", ["registration"], indirect=True)
def test_hostile_csv_cells_never_make_the_member_import_answer_500_on_postgresql(service):
    """The CSV import takes no JSON body, so the test above does not reach it: each cell in turn gets the hostile
    strings (and a list of thousands of values), the rest of the row valid, and the file is really imported."""
    operator = auth("operator")
    community = service.api.post(
        "/v1/communities", json={"name_fr": "CoP", "name_en": "CoP", "regions": ["06"]}, headers=operator
    )
    assert community.status_code == 201, community.text
    row = [cell.format(community=community.json()["id"]) for cell in IMPORT_ROW]
    failures = []
    for i, column in enumerate(IMPORT_HEADER.split(",")):
        for n, value in enumerate([*HOSTILE_STRINGS, "|".join(f"v{k}" for k in range(3000)), "0" * 19]):
            cells = [*row]
            cells[0] = f"m{i}-{n}@example.org" if i else cells[0]
            cells[i] = value
            body = (IMPORT_HEADER + "\n" + ",".join(cells) + "\n").encode("utf-8", "surrogatepass")
            response = service.api.post(
                "/v1/members/import", content=body, headers={**operator, "Content-Type": "text/csv"}
            )
            if response.status_code >= 500:
                failures.append(f"{column}={value[:40]!r}: {response.status_code}")
    assert not failures, failures
