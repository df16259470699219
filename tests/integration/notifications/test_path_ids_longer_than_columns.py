"""An id in the path longer than the column that keeps it, on PostgreSQL (SQLite stores it anyway): a 422 naming the
path parameter, nothing written, never a 500. Found by tests/integration/test_api_fuzz_postgres.py: PUT preferences
of a member id of 37+ characters inserted into VARCHAR(36) and answered 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from cercle_shared.db.migrations import upgrade
from tests.support.harness import ServiceHarness
from tests.support.services import SERVICES

pytestmark = pytest.mark.integration

TOO_LONG = ["m" * 37, "m" * 201, "m" * 10_000]


@pytest.fixture
def notifications(new_database) -> Iterator[ServiceHarness]:
    url = new_database("notifications")
    upgrade(SERVICES["notifications"].bootstrap().MIGRATIONS, url)
    h = ServiceHarness("notifications", url)
    yield h
    h.runtime.engine.dispose()


def _rows(h: ServiceHarness, table: str) -> int:
    with h.runtime.engine.connect() as db:
        return int(db.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _assert_refused(response, parameter: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert parameter in response.text


@pytest.mark.parametrize("member_id", TOO_LONG, ids=len)
def test_preferences_of_a_member_id_longer_than_an_id_are_a_422(notifications, member_id):
    response = notifications.api.put(
        f"/v1/members/{member_id}/preferences", json={"language": "en"}, headers=notifications.as_operator()
    )
    _assert_refused(response, "member_id")
    assert notifications.api.get(
        f"/v1/members/{member_id}/preferences", headers=notifications.as_operator()
    ).status_code in (404, 422)
    assert _rows(notifications, "preferences") == 0


def test_a_member_id_of_an_ids_length_still_saves_its_preferences(notifications):
    member_id = "m" * 36
    response = notifications.api.put(
        f"/v1/members/{member_id}/preferences", json={"language": "en"}, headers=notifications.as_operator()
    )
    assert response.status_code == 200, response.text
    assert _rows(notifications, "preferences") == 1


@pytest.mark.parametrize("organization_id", ["o" * 201, "o" * 10_000], ids=len)
def test_a_partner_grant_or_endpoint_for_an_organization_id_longer_than_its_column_is_a_422(
    notifications, organization_id
):
    operator = notifications.as_operator()
    grant = notifications.api.put(
        f"/v1/partners/{organization_id}/grant", json={"event_types": ["org.cercle.sessions."]}, headers=operator
    )
    _assert_refused(grant, "organization_id")
    endpoint = notifications.api.post(
        f"/v1/partners/{organization_id}/endpoints",
        json={"url": "https://127.0.0.1:9/hooks", "event_types": ["org.cercle.sessions."]},
        headers=operator,
    )
    assert endpoint.status_code in (404, 422), endpoint.text
    assert _rows(notifications, "partner_grants") == 0
