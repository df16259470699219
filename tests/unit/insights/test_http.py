"""The HTTP API over a SQLite replica (no lifespan, hence no broker): scopes, shapes and errors."""

import pytest
from fastapi.testclient import TestClient

from tests.support.services import auth

from . import events as ev

LAVAL, LAURENTIDES = "13", "15"


@pytest.fixture
def api(insights) -> TestClient:
    return insights.api  # not entered: the lifespan (Kafka) does not start


@pytest.fixture
def laval(project):
    """A Laval community with two members (one facilitator), one session, a seat and a waitlisted registration."""
    community, session = ev.new_id(), ev.new_id()
    facilitator = ev.joined(community, "m-facilitator", at=ev.day(0))
    project(
        ev.community_created(community, regions=[LAVAL], name="CoP Laval"),
        facilitator,
        ev.role_changed(facilitator, "facilitator"),
        ev.joined(community, "m-participant", at=ev.day(50)),
        ev.scheduled(community, session),
        ev.confirmed(community, session, "m-participant"),
        ev.waitlisted(community, session, "m-other"),
    )
    return community


def test_community_stats_give_counts(api, laval):
    response = api.get(f"/v1/communities/{laval}/stats", headers=auth("operator"))

    assert response.status_code == 200
    body = response.json()
    assert body["community"]["name_fr"] == "CoP Laval"
    assert body["members"] == {
        "active": 2,
        "joined_to_date": 2,
        "left_to_date": 0,
        "average_tenure_days": 75.0,
        "active_by_role": {"participant": 1, "facilitator": 1, "coordinator": 0},
    }
    assert body["sessions"]["total"] == 1
    assert (body["registrations"]["confirmed"], body["registrations"]["waitlisted"]) == (1, 1)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (auth("operator"), 200),
        (auth("partner", organization_id="org-1"), 200),
        (auth("coordinator", regions=[LAVAL]), 200),
        (auth("coordinator", regions=[LAURENTIDES]), 403),
        (auth("member", member_id="m-participant"), 200),
        (auth("member", member_id="m-other"), 403),  # only waitlisted for a session: not a member
        ({}, 401),
    ],
)
def test_community_stats_are_scoped(api, laval, headers, status):
    assert api.get(f"/v1/communities/{laval}/stats", headers=headers).status_code == status


def test_facilitators_read_the_communities_of_their_token_only(api, laval):
    url = f"/v1/communities/{laval}/stats"
    assert api.get(url, headers=auth("facilitator", communities=[laval])).status_code == 200
    assert api.get(url, headers=auth("facilitator", communities=["x"])).status_code == 403


def test_a_member_who_left_may_no_longer_read(api, project, laval):
    membership = ev.joined(laval, "m-leaving")
    project(membership)
    assert api.get(f"/v1/communities/{laval}/stats", headers=auth("member", member_id="m-leaving")).status_code == 200

    project(ev.left(membership, at=ev.day(60)))
    assert api.get(f"/v1/communities/{laval}/stats", headers=auth("member", member_id="m-leaving")).status_code == 403


def test_no_response_carries_a_member_id(api, laval):
    partner = auth("partner", organization_id="org-1")
    bodies = [
        api.get(f"/v1/communities/{laval}/stats", headers=partner).text,
        api.get(f"/v1/regions/{LAVAL}/stats", headers=partner).text,
        api.get("/v1/communities", headers=partner).text,
    ]
    assert not [b for b in bodies if "m-participant" in b or "m-facilitator" in b]


def test_unknown_and_placeholder_communities_are_not_found(api, project):
    placeholder = ev.new_id()
    project(ev.joined(placeholder, "m1"))  # its creation has not arrived yet

    for community in ("no-such-community", placeholder):
        response = api.get(f"/v1/communities/{community}/stats", headers=auth("operator"))
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == "community_id"


def test_region_stats_count_each_person_once_across_communities(api, project, laval):
    other = ev.new_id()
    project(ev.community_created(other, regions=[LAVAL, LAURENTIDES], name="Autre CoP", status="paused"))
    project(ev.joined(other, "m-participant"), ev.joined(other, "m-third"))

    body = api.get(f"/v1/regions/{LAVAL}/stats", headers=auth("coordinator", regions=[LAVAL])).json()

    assert body["communities"] == {"total": 2, "active": 1, "paused": 1, "closed": 0}
    assert (body["members"]["active"], body["members"]["joined_to_date"]) == (3, 4)
    assert body["registrations"]["confirmed"] == 1


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (auth("operator"), 200),
        (auth("partner"), 200),
        (auth("coordinator", regions=[LAVAL]), 200),
        (auth("coordinator", regions=[LAURENTIDES]), 403),
        (auth("facilitator", communities=["x"]), 403),
        (auth("member", member_id="m-participant"), 403),
    ],
)
def test_region_stats_are_scoped(api, laval, headers, status):
    assert api.get(f"/v1/regions/{LAVAL}/stats", headers=headers).status_code == status


def test_a_region_code_outside_quebec_is_rejected_naming_the_field(api):
    response = api.get("/v1/regions/18/stats", headers=auth("operator"))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "code"


def test_the_list_pages_through_communities_by_name(api, project):
    names = ["Bêta", "Alpha", "Gamma"]
    for name in names:
        project(ev.community_created(ev.new_id(), name=name))

    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.get("/v1/communities", params=params, headers=auth("operator")).json()
        seen += [item["name_fr"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(names)
    assert len(seen) == 3


def test_the_list_carries_headline_numbers(api, laval):
    items = api.get("/v1/communities", headers=auth("operator")).json()["items"]

    assert [item["headline"] for item in items if item["id"] == laval] == [
        {"active_members": 2, "sessions": 1, "confirmed_registrations": 1, "waitlisted_registrations": 1}
    ]


def test_the_list_shows_each_caller_what_they_may_see(api, project, laval):
    elsewhere = ev.new_id()
    project(ev.community_created(elsewhere, regions=[LAURENTIDES], name="CoP Laurentides", status="closed"))
    project(ev.joined(ev.new_id(), "m-participant"))  # a placeholder community: never listed

    def ids(headers, **params):
        return {item["id"] for item in api.get("/v1/communities", params=params, headers=headers).json()["items"]}

    assert ids(auth("operator")) == {laval, elsewhere}
    assert ids(auth("partner")) == {laval, elsewhere}
    assert ids(auth("coordinator", regions=[LAURENTIDES])) == {elsewhere}
    assert ids(auth("facilitator", communities=[laval])) == {laval}
    assert ids(auth("member", member_id="m-participant")) == {laval}
    assert ids(auth("operator"), status="closed") == {elsewhere}
    assert ids(auth("operator"), region=LAVAL) == {laval}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"cursor": "%%%"}, "cursor"),
        ({"status": "dormant"}, "status"),
        ({"region": "99"}, "region"),
    ],
)
def test_bad_list_parameters_are_rejected_naming_the_field(api, params, field):
    response = api.get("/v1/communities", params=params, headers=auth("operator"))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


def test_the_asyncapi_document_lists_the_events_insights_consumes(api):
    document = api.get("/asyncapi.json").text

    for event_type in ("org.cercle.registration.member.erased.v1", "org.cercle.sessions.registration.promoted.v1"):
        assert event_type in document
