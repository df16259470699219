"""Property-based requests from each service's own OpenAPI document: whatever the input, never a 500.

Schemathesis generates valid and invalid requests (operator token, SQLite, no broker needed: the
outbox only writes rows). Derandomized, so a run is repeatable. Besides bodies, every query parameter
and header an operation declares (cursors, If-Match, sort keys, filters) is set to each of a table of
hostile values, and every route is called with correctly signed tokens whose claims are ill-typed.
"""

import base64
import re

import jwt
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from requests.exceptions import InvalidHeader
from schemathesis.checks import not_a_server_error

from cercle_shared.db.migrations import upgrade
from tests.support.services import JWT_SECRET, SERVICES, auth, make_settings

PUBLIC = {"/healthz", "/readyz", "/asyncapi.json", "/asyncapi", "/openapi.json", "/docs", "/redoc"}


def _schema(name: str, tmp_path_factory):
    base = tmp_path_factory.mktemp(f"fuzz-{name}")
    config = make_settings(name, f"sqlite:///{base / (name + '.db')}", "127.0.0.1:1")
    upgrade(SERVICES[name].bootstrap().MIGRATIONS, config.database_url)
    return schemathesis.openapi.from_asgi("/openapi.json", SERVICES[name].bootstrap().build_app(config))


def _failures(op, headers: dict[str, str]) -> list[str]:
    """Hypothesis-generated calls of one operation that answered 500 (collected, so one run names them all)."""
    failures = []

    @settings(max_examples=15, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy())
    def check(case):
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except Exception as exc:
            failures.append(f"{op.method.upper()} {op.path}: {exc}")

    check()
    return failures


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_no_input_makes_a_service_answer_500(name, tmp_path_factory):
    schema = _schema(name, tmp_path_factory)
    headers = auth("operator")
    failures = []
    for operation in schema.get_all_operations():
        op = operation.ok()
        if op.path == "/readyz":
            continue  # no broker here: 503 is its right answer
        failures.extend(_failures(op, headers))
    assert not failures, "\n".join(failures[:10])


def _cursor(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


# Values no client of ours sends, for every query parameter and header an operation declares.
HOSTILE_QUERY = [
    "",
    " ",
    "%00",
    "\x00",
    "null",
    "-1",
    "0",
    "1e309",
    "NaN",
    "Infinity",
    "99999999999999999999999",
    "-99999999999999999999",
    "²",
    "١٢",
    "1.5",
    "true",
    "[]",
    "{}",
    "a" * 5000,
    "é\u202e",
    "\ud7ff\ufffe",
    "'; DROP TABLE members;--",
    "../../etc/passwd",
    "2024-13-45",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-12:00",
    "a,b,c",
]
HOSTILE_CURSORS = [
    "!!!",
    "=",
    "a" * 3000,
    _cursor("[1]"),
    _cursor("{}"),
    _cursor('"x"'),
    _cursor("[[1], [2]]"),
    _cursor('[null, "x"]'),
    _cursor('["x", {"a": 1}]'),
    _cursor('["x", true]'),
    _cursor('[true, "x"]'),
    _cursor('[99999999999999999999999, "x"]'),
    _cursor('["x", 99999999999999999999999]'),
    _cursor("[-99999999999999999999999, -99999999999999999999999]"),
    _cursor('[1e308, "x"]'),
    _cursor('[NaN, "x"]'),
    _cursor('[Infinity, "x"]'),
    _cursor('[{"dt": "9999-12-31T23:59:59+14:00"}, "x"]'),
    _cursor('[{"dt": "0001-01-01T00:00:00-12:00"}, "x"]'),
    _cursor('[{"dt": "2024-01-01T00:00:00"}, "x"]'),
    _cursor('[{"dt": 5}, "x"]'),
    _cursor('[{"dt": "x", "y": 1}, "x"]'),
    _cursor('["2024-02-30", "x"]'),
    _cursor("[" * 5000 + "]" * 5000),
    _cursor('["\\u0000", "\\u0000"]'),
    _cursor('["' + "x" * 1000 + '", 1]'),
]
HOSTILE_HEADERS = [
    "",
    "*",
    'W/"²"',  # sent as latin-1, the one byte 0xB2: str.isdigit() holds, int() refuses
    "³",
    'W/"' + "9" * 5000 + '"',
    'W/"99999999999999999999"',
    "9" * 19,
    '"-1"',
    'W/"0"',
    'W/"1", W/"2"',
    "W/",
    '""',
    'W/"1.5"',
    "x" * 8000,
]


def _hostile_values(location: str, name: str) -> list:
    if location == "header":
        return HOSTILE_HEADERS
    return HOSTILE_QUERY + (HOSTILE_CURSORS if "cursor" in name else [])


def _hostile_parameter_failures(op, headers: dict[str, str]) -> list[str]:
    """Every declared query parameter and header of `op` set to each hostile value, the rest of the request valid.

    The rest of the request is drawn until the operation accepts it (a 422 would stop before any hostile value
    is read), so that the values reach the code that parses them."""
    parameters = [
        (p["in"], p["name"]) for p in op.definition.raw.get("parameters", []) if p.get("in") in ("query", "header")
    ]
    if not parameters:
        return []
    failures: list[str] = []
    drawn: dict[str, object] = {}

    def call(case, call_headers, query) -> int:
        try:
            return case.call(headers=call_headers, params=query).status_code
        except InvalidHeader:
            return 0  # the client refuses to send it: nothing reached the service
        except Exception:  # the ASGI transport re-raises what the app raised: that was a 500
            return 500

    def hostile(case) -> None:
        for location, name in parameters:
            for value in _hostile_values(location, name):
                base_headers = {**(case.headers or {}), **headers}  # our token, not a drawn Authorization
                if location == "header":
                    call_headers, query = {**base_headers, name: value}, case.query
                else:
                    call_headers, query = base_headers, {**(case.query or {}), name: value}
                if call(case, call_headers, query) >= 500:
                    failures.append(f"{op.method.upper()} {op.path} {location} {name}={value[:60]!r}")

    @settings(max_examples=10, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy())
    def draw(case):
        if "accepted" in drawn:
            return
        drawn["last"] = case
        if call(case, {**(case.headers or {}), **headers}, case.query) != 422:
            drawn["accepted"] = case

    draw()
    hostile(drawn.get("accepted") or drawn["last"])
    return failures


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_hostile_query_strings_and_headers_never_make_a_service_answer_500(name, tmp_path_factory):
    schema = _schema(name, tmp_path_factory)
    headers = auth("operator")
    failures = []
    for operation in schema.get_all_operations():
        op = operation.ok()
        if op.path == "/readyz":
            continue
        failures.extend(_hostile_parameter_failures(op, headers))
    assert not failures, f"{len(failures)} answers 500:\n" + "\n".join(failures[:30])


def _token(payload: dict) -> str:
    base = {"sub": "fuzz", "role": "operator", "iss": "cercle", "aud": "cercle", "exp": 4102444800}
    return jwt.encode({**base, **payload}, JWT_SECRET)


# Correctly signed, so only the claims are wrong.
ILL_TYPED_CLAIMS = [
    {"role": "coordinator", "regions": 6},
    {"role": "coordinator", "regions": "06"},
    {"role": "coordinator", "regions": [{"code": "06"}]},
    {"role": "facilitator", "communities": {"c": 1}},
    {"role": "member", "member_id": {"id": "m"}},
    {"role": "member", "member_id": ["m"]},
    {"role": "member", "member_id": 5},
    {"role": "partner", "organization_id": [1]},
    {"role": "root"},
    {"role": ["operator"]},
    {"role": None},
    {"sub": "a\r\nb"},
    {"exp": "4102444800"},
    {"exp": 10**30},
    {"iat": "now"},
    {"nbf": [1]},
]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_correctly_signed_tokens_with_ill_typed_claims_answer_401_on_every_route(name, tmp_path):
    settings_ = make_settings(name, f"sqlite:///{tmp_path / (name + '.db')}", "127.0.0.1:1")
    upgrade(SERVICES[name].bootstrap().MIGRATIONS, settings_.database_url)
    app = SERVICES[name].bootstrap().build_app(settings_)
    client = TestClient(app, raise_server_exceptions=False)
    failures = []
    for path, operations in app.openapi()["paths"].items():
        if path in PUBLIC or path.startswith(
            ("/v1/calendars/", "/v1/auth/", "/v1/unsubscribe/", "/v1/survey-answers/")
        ):  # public: a secret in the URL, sign-in
            continue
        url = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
        for method in operations:
            for claims in ILL_TYPED_CLAIMS:
                response = client.request(method, url, headers={"Authorization": f"Bearer {_token(claims)}"})
                if response.status_code != 401:
                    failures.append(f"{method.upper()} {path} with {claims}: {response.status_code}")
    assert not failures, f"{len(failures)} not 401:\n" + "\n".join(failures[:30])
