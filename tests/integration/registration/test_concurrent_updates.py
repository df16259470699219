"""Ten coordinators change the same resource at the same moment with one ETag, on PostgreSQL: exactly one wins
(200), the others are told it changed (409/412), never a 500 (issue 8, item 6 and the If-Match check), for every
registration route that takes If-Match. And the races of creation (one email, one membership) likewise."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

from cercle_shared.db.migrations import upgrade
from tests.support.harness import ServiceHarness
from tests.support.services import SERVICES, auth

pytestmark = pytest.mark.integration

CROWD = 10
OPERATOR = auth("operator")


@pytest.fixture
def registration(new_database) -> Iterator[ServiceHarness]:
    """The real app on PostgreSQL (no broker needed: the outbox is only written)."""
    url = new_database("registration")
    upgrade(SERVICES["registration"].bootstrap().MIGRATIONS, url)
    h = ServiceHarness("registration", url)
    yield h
    h.runtime.engine.dispose()


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def all_at_once(call: Callable[[int], object]) -> list:
    barrier = threading.Barrier(CROWD)

    def one(n: int):
        barrier.wait()
        return call(n)

    with ThreadPoolExecutor(CROWD) as pool:
        return list(pool.map(one, range(CROWD)))


def assert_one_winner(responses, winner_status: int = 200) -> None:
    statuses = Counter(r.status_code for r in responses)
    assert 500 not in statuses, [r.text for r in responses if r.status_code == 500]
    assert statuses[winner_status] == 1, (statuses, [r.text for r in responses if r.status_code != winner_status])
    assert statuses[409] + statuses[412] == CROWD - 1, statuses
    for loser in (r for r in responses if r.status_code != winner_status):
        assert loser.headers["content-type"].startswith("application/problem+json")


@dataclass(frozen=True)
class World:
    member: dict
    community: dict
    organization: dict


@pytest.fixture
def world(registration) -> World:
    api = registration.api
    organization = ok(api.post("/v1/organizations", json={"name": "CISSS", "region": "06"}, headers=OPERATOR), 201)
    member = ok(
        api.post(
            "/v1/members",
            json={
                "display_name": "Marie Tremblay",
                "email": "marie@example.org",
                "region": "06",
                "consents": {"processing": True},
            },
            headers=OPERATOR,
        ),
        201,
    )
    community = ok(
        api.post("/v1/communities", json={"name_fr": "CoP", "name_en": "CoP", "regions": ["06"]}, headers=OPERATOR),
        201,
    )
    ok(
        api.post(f"/v1/communities/{community['id']}/memberships", json={"member_id": member["id"]}, headers=OPERATOR),
        201,
    )
    return World(member, community, organization)


def if_match(headers: dict[str, str], version: int = 1) -> dict[str, str]:
    return {**headers, "If-Match": f'W/"{version}"'}


# Every route of registration that takes If-Match: (method, path, body of the n-th request, who, how to read it back).
ROUTES = {
    "member profile": lambda w: (
        "PATCH",
        f"/v1/members/{w.member['id']}",
        lambda n: {"job_title": f"Poste {n}", "expertise": [f"tag{n}"]},
        OPERATOR,
        f"/v1/members/{w.member['id']}",
    ),
    "member consents": lambda w: (
        "PATCH",
        f"/v1/members/{w.member['id']}",
        lambda n: {"consents": {"directory": n % 2 == 0, "surveys": n % 2 == 1}, "display_name": f"Marie {n}"},
        OPERATOR,
        f"/v1/members/{w.member['id']}",
    ),
    "my own profile": lambda w: (
        "PATCH",
        "/v1/members/me",
        lambda n: {"display_name": f"Marie T. {n}", "consents": {"email": n % 2 == 0}},
        auth("member", member_id=w.member["id"]),
        f"/v1/members/{w.member['id']}",
    ),
    "organization": lambda w: (
        "PATCH",
        f"/v1/organizations/{w.organization['id']}",
        lambda n: {"name": f"CISSS {n}", "sector": f"secteur {n}"},
        OPERATOR,
        f"/v1/organizations/{w.organization['id']}",
    ),
    "community": lambda w: (
        "PATCH",
        f"/v1/communities/{w.community['id']}",
        lambda n: {"name_fr": f"CoP {n}", "cadence": 1 + n},
        OPERATOR,
        f"/v1/communities/{w.community['id']}",
    ),
    "community status": lambda w: (
        "POST",
        f"/v1/communities/{w.community['id']}/status",
        lambda n: {"status": "paused" if n % 2 else "closed"},
        OPERATOR,
        f"/v1/communities/{w.community['id']}",
    ),
    "membership role": lambda w: (
        "PATCH",
        f"/v1/communities/{w.community['id']}/memberships/{w.member['id']}",
        lambda n: {"role": "facilitator" if n % 2 else "coordinator"},
        OPERATOR,
        None,
    ),
}


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("version_in", ["If-Match", "body"])
def test_ten_parallel_updates_with_one_etag_make_exactly_one_winner(registration, world, route, version_in):
    api = registration.api
    method, path, body_of, headers, read_path = ROUTES[route](world)

    def update(n: int):
        body = body_of(n)
        if version_in == "body":
            return api.request(method, path, json={**body, "version": 1}, headers=headers)
        return api.request(method, path, json=body, headers=if_match(headers))

    responses = all_at_once(update)
    assert_one_winner(responses)
    (winner,) = (r for r in responses if r.status_code == 200)
    assert winner.headers["ETag"] == 'W/"2"'
    if read_path:
        read = api.get(read_path, headers=OPERATOR)
        assert read.headers["ETag"] == 'W/"2"'
        won = winner.json()
        assert {k: v for k, v in read.json().items() if k in won} == won  # the winner's change, and only it
    losers = [r.json() for r in responses if r.status_code != 200]
    assert all(p["status"] in (409, 412) for p in losers)
    # the next update with the new ETag goes through
    again = api.request(method, path, json=body_of(0), headers=if_match(headers, 2))
    assert again.status_code in (200, 409), again.text  # 409: a closed community stays closed
    assert again.status_code == 200 or route == "community status"


def test_the_winner_alone_publishes_its_change(registration, world):
    api = registration.api
    engine = create_engine(registration.database_url)
    try:
        with engine.connect() as db:
            before = db.execute(text("select count(*) from outbox where event_type like '%member.contact_changed%'"))
            before_count = before.scalar_one()
        responses = all_at_once(
            lambda n: api.patch(
                f"/v1/members/{world.member['id']}", json={"display_name": f"Marie {n}"}, headers=if_match(OPERATOR)
            )
        )
        assert_one_winner(responses)
        with engine.connect() as db:
            after = db.execute(text("select count(*) from outbox where event_type like '%member.contact_changed%'"))
            assert after.scalar_one() == before_count + 1
    finally:
        engine.dispose()


def test_ten_parallel_registrations_of_one_email_make_one_member(registration):
    api = registration.api
    responses = all_at_once(
        lambda n: api.post(
            "/v1/members",
            json={"display_name": f"Marie {n}", "email": "MARIE@example.org", "consents": {"processing": True}},
            headers=OPERATOR,
        )
    )
    assert_one_winner(responses, winner_status=201)
    assert all(r.json()["errors"][0]["field"] == "email" for r in responses if r.status_code == 409)


def test_ten_parallel_joins_of_one_member_make_one_membership(registration, world):
    api = registration.api
    other = ok(
        api.post("/v1/communities", json={"name_fr": "B", "name_en": "B", "regions": ["06"]}, headers=OPERATOR), 201
    )
    responses = all_at_once(
        lambda n: api.post(
            f"/v1/communities/{other['id']}/memberships", json={"member_id": world.member["id"]}, headers=OPERATOR
        )
    )
    assert_one_winner(responses, winner_status=201)


def test_ten_parallel_imports_of_one_file_keep_exactly_one(registration):
    api = registration.api
    file = "email,display_name,consent_processing\n" + "".join(f"m{i}@example.org,Membre {i},yes\n" for i in range(30))
    responses = all_at_once(
        lambda n: api.post("/v1/members/import", content=file, headers={**OPERATOR, "Content-Type": "text/csv"})
    )
    statuses = Counter(r.status_code for r in responses)
    assert 500 not in statuses, [r.text for r in responses if r.status_code == 500]
    assert statuses[201] == 1, (statuses, [r.text[:300] for r in responses if r.status_code != 201])
    assert statuses[422] == CROWD - 1, statuses
    members = api.get("/v1/members?limit=200", headers=OPERATOR).json()["items"]
    assert sorted(m["email"] for m in members) == sorted(f"m{i}@example.org" for i in range(30))


@pytest.mark.parametrize("value", ["x\u0000", "x\u0000y"])
def test_a_nul_in_an_id_of_a_body_is_a_422_not_a_driver_error(registration, world, value):
    api = registration.api
    response = api.post(
        "/v1/members",
        json={
            "display_name": "A",
            "email": "a@example.org",
            "organization_id": value,
            "consents": {"processing": True},
        },
        headers=OPERATOR,
    )
    assert response.status_code == 422, response.text
    joined = api.post(
        f"/v1/communities/{world.community['id']}/memberships", json={"member_id": value}, headers=OPERATOR
    )
    assert joined.status_code == 422, joined.text
