"""A member import naming a community or an organization by a value no id column holds, on PostgreSQL: a 422 whose
report names the row and the column, nothing written, never a 500. Found by tests/integration/test_api_fuzz_postgres.py:
a NUL in the communities cell reached the batched look-up of communities, which PostgreSQL cannot bind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from cercle_shared.db.migrations import upgrade
from tests.support.harness import ServiceHarness
from tests.support.services import SERVICES

pytestmark = pytest.mark.integration

HEADER = "email,display_name,consent_processing,region,communities,organization_id"


@pytest.fixture
def registration(new_database) -> Iterator[ServiceHarness]:
    url = new_database("registration")
    upgrade(SERVICES["registration"].bootstrap().MIGRATIONS, url)
    h = ServiceHarness("registration", url)
    yield h
    h.runtime.engine.dispose()


def _import(h: ServiceHarness, *rows: str, dry_run: bool = False):
    body = (HEADER + "\n" + "\n".join(rows) + "\n").encode()
    return h.api.post(
        f"/v1/members/import?dry_run={str(dry_run).lower()}",
        content=body,
        headers={**h.as_operator(), "Content-Type": "text/csv"},
    )


def _members(h: ServiceHarness) -> int:
    with h.runtime.engine.connect() as db:
        return int(db.execute(text("SELECT count(*) FROM members")).scalar_one())


@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry-run"])
@pytest.mark.parametrize(
    ("cells", "column"),
    [
        ("c\x00x,", "communities"),
        ("ok|c\x00x,", "communities"),
        ("c" * 37 + ",", "communities"),
        (",o\x00x", "organization_id"),
        (",o" + "o" * 36, "organization_id"),
        (",o\x1bx", "organization_id"),
    ],
    ids=["nul-community", "nul-second-community", "long-community", "nul-org", "long-org", "escape-org"],
)
def test_an_id_no_column_holds_refuses_its_row_naming_the_column(registration, cells, column, dry_run):
    response = _import(
        registration, "a@example.org,Alice,yes,06,", f"b@example.org,Bruno,yes,06,{cells}", dry_run=dry_run
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(3, column)]
    assert _members(registration) == 0


def test_ids_of_an_ids_length_are_still_looked_up(registration):
    response = _import(registration, "a@example.org,Alice,yes,06," + "c" * 36 + ",")

    assert response.status_code == 422, response.text
    assert "no such community" in response.json()["errors"][0]["message"]
