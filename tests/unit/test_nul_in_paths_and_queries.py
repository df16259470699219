"""A NUL in a path or a query string is answered before any route of any service (PostgreSQL cannot bind it)."""

from __future__ import annotations

import pytest

from tests.support.harness import ServiceHarness, migrated_sqlite

PATHS = {
    "registration": ("/v1/members/a%00b", "/v1/members?sort=display_name&cursor=%00"),
    "sessions": ("/v1/sessions/a%00b", "/v1/me/sessions?cursor=a%00"),
    "notifications": ("/v1/members/a%00b/preferences", "/v1/deliveries?member_id=a%00b"),
    "insights": ("/v1/communities/a%00b/stats", "/v1/communities?region=0%006"),
}


@pytest.mark.parametrize("service", sorted(PATHS))
def test_a_nul_in_a_path_is_a_404_and_in_a_query_a_422_naming_the_parameter(service, tmp_path, tmp_path_factory):
    h = ServiceHarness(service, migrated_sqlite(service, tmp_path, tmp_path_factory.getbasetemp()))
    in_path, in_query = PATHS[service]
    response = h.api.get(in_path, headers=h.as_operator())
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "no such resource"  # answered before the route: nothing was looked up
    response = h.api.get(in_query, headers=h.as_operator())
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error == {"field": in_query.split("&")[-1].split("?")[-1].split("=")[0], "message": error["message"]}
    assert "NUL" in error["message"]
    h.runtime.engine.dispose()
