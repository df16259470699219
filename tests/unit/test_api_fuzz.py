"""Property-based requests from each service's own OpenAPI document: whatever the input, never a 500.

Schemathesis generates valid and invalid requests (operator token, SQLite, no broker needed: the
outbox only writes rows). Derandomized, so a run is repeatable.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from cercle_shared.db.migrations import upgrade
from tests.support.services import SERVICES, auth, make_settings


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
