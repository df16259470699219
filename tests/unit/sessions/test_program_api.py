from datetime import datetime, timedelta

from tests.support.harness import START
from tests.support.services import auth


def member(member_id):
    return auth("member", member_id=member_id)


def open_cycle(harness, **overrides):
    body = {
        "label": "2026-2027",
        "starts_on": "2026-09-01",
        "ends_on": "2027-06-30",
        "proposals_close_at": (START + timedelta(days=10)).isoformat(),
        "voting_opens_at": (START + timedelta(days=10)).isoformat(),
        "voting_closes_at": (START + timedelta(days=20)).isoformat(),
    }
    body.update(overrides)
    response = harness.api.post(
        "/v1/communities/c-1/cycles", json=body, headers=auth("facilitator", communities=["c-1"])
    )
    assert response.status_code == 201, response.text
    return response.json()


def propose(harness, cycle, member_id, title):
    response = harness.api.post(
        f"/v1/cycles/{cycle['id']}/themes", json={"title": title, "need": f"besoin: {title}"}, headers=member(member_id)
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_year_from_proposals_to_votes_to_retained_themes_to_scheduled_sessions(harness, clock):
    harness.community()
    for m in ("m-1", "m-2", "m-3"):
        harness.join(m)
    cycle = open_cycle(harness)
    assert (cycle["themes_to_retain"], cycle["sessions_per_theme"], cycle["votes_per_member"]) == (3, 2, 3)
    titles = ["Nature et santé mentale", "Retour au travail", "Télétravail", "Reconnaissance", "Nature & santé"]
    themes = {}
    for i, title in enumerate(titles):
        clock.advance(minutes=1)
        themes[title] = propose(harness, cycle, f"m-{i % 3 + 1}", title)
    merged = harness.api.post(
        f"/v1/cycles/{cycle['id']}/themes/{themes['Nature & santé']['id']}/merge",
        json={"into_theme_id": themes["Nature et santé mentale"]["id"]},
        headers=auth("facilitator", communities=["c-1"]),
    )
    assert merged.json()["status"] == "merged"

    vote_url = f"/v1/cycles/{cycle['id']}/votes"
    early = harness.api.post(vote_url, json={"theme_id": themes["Télétravail"]["id"]}, headers=member("m-1"))
    assert early.status_code == 409
    clock.now = START + timedelta(days=11)
    ballots = {
        "m-1": ["Télétravail", "Retour au travail", "Reconnaissance"],
        "m-2": ["Télétravail", "Nature et santé mentale"],
        "m-3": ["Retour au travail", "Nature et santé mentale"],
    }
    for voter, picks in ballots.items():
        for title in picks:
            response = harness.api.post(vote_url, json={"theme_id": themes[title]["id"]}, headers=member(voter))
            assert response.status_code == 201, response.text
    assert (
        harness.api.post(vote_url, json={"theme_id": themes["Télétravail"]["id"]}, headers=member("m-2")).status_code
        == 409
    )  # one vote per theme
    assert (
        harness.api.post(
            vote_url, json={"theme_id": themes["Nature et santé mentale"]["id"]}, headers=member("m-1")
        ).status_code
        == 409
    )  # all three cast
    assert (
        harness.api.post(vote_url, json={"theme_id": themes["Nature & santé"]["id"]}, headers=member("m-3")).status_code
        == 409
    )  # merged away
    assert (
        harness.api.post(
            vote_url, json={"theme_id": themes["Télétravail"]["id"]}, headers=auth("facilitator", communities=["c-1"])
        ).status_code
        == 403
    )
    live = harness.api.get(f"/v1/cycles/{cycle['id']}/results", headers=member("m-2")).json()
    assert live["total_votes"] == 7
    assert live["my_votes_left"] == 1
    assert [t["votes"] for t in live["tallies"]] == [2, 2, 2, 1]

    closed = harness.api.post(f"/v1/cycles/{cycle['id']}/close-vote", headers=auth("facilitator", communities=["c-1"]))
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    # a three-way tie at 2 votes: the earliest proposals win
    assert [t["title"] for t in closed.json()["retained"]] == [
        "Nature et santé mentale",
        "Retour au travail",
        "Télétravail",
    ]
    [retained_event] = harness.payloads("org.cercle.sessions.themes.retained.v1")
    assert [t["votes"] for t in retained_event["themes"]] == [2, 2, 2]
    assert retained_event["total_votes"] == 7
    votes_cast = harness.payloads("org.cercle.sessions.vote.cast.v1")
    assert len(votes_cast) == 7
    assert all("member_id" not in e for e in votes_cast)

    plan = harness.api.post(
        f"/v1/cycles/{cycle['id']}/plan",
        headers=auth("facilitator", communities=["c-1"]),
        json={
            "weekday": 3,
            "start_time": "13:00",
            "duration_minutes": 180,
            "blackout_dates": ["2026-12-24", "2026-12-31"],
        },
    )
    assert plan.status_code == 200, plan.text
    items = plan.json()["plan"]
    assert len(items) == 6
    assert plan.json()["plan_status"] == "proposed"
    assert (
        harness.api.post(
            f"/v1/cycles/{cycle['id']}/plan/confirm",
            json={"capacity": 20},
            headers=auth("facilitator", communities=["c-1"]),
        ).status_code
        == 403
    )
    items[0]["starts_at"] = "2026-10-06T13:00:00-04:00"  # the coordinator moves the first one
    items[0]["ends_at"] = "2026-10-06T16:00:00-04:00"
    confirmed = harness.api.post(
        f"/v1/cycles/{cycle['id']}/plan/confirm",
        json={"capacity": 20, "location": "Laval", "items": items},
        headers=auth("coordinator", regions=["13"]),
    )
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert body["cycle"]["plan_status"] == "confirmed"
    assert len(body["sessions"]) == 6
    assert datetime.fromisoformat(body["sessions"][0]["starts_at"]) == datetime.fromisoformat(items[0]["starts_at"])
    scheduled = harness.payloads("org.cercle.sessions.session.scheduled.v1")
    assert len(scheduled) == 6
    assert {e["theme_id"] for e in scheduled} == {t["theme_id"] for t in body["cycle"]["retained"]}
    again = harness.api.post(f"/v1/cycles/{cycle['id']}/plan/confirm", json={"capacity": 20}, headers=auth())
    assert again.status_code == 409


def test_proposals_only_while_open_and_only_from_the_community(harness, clock):
    harness.community()
    harness.join("m-1")
    cycle = open_cycle(harness)
    url = f"/v1/cycles/{cycle['id']}/themes"
    assert harness.api.post(url, json={"title": "x", "need": "y"}, headers=member("m-out")).status_code == 403
    assert harness.api.post(url, json={"title": "x"}, headers=member("m-1")).status_code == 422
    clock.advance(days=10)
    assert harness.api.post(url, json={"title": "x", "need": "y"}, headers=member("m-1")).status_code == 409
    assert harness.published("org.cercle.sessions.theme.proposed.v1") == []
    opened = harness.payloads("org.cercle.sessions.cycle.opened.v1")
    assert opened[0]["cycle_id"] == cycle["id"]
    assert opened[0]["key"] == "c-1"


def test_bad_cycles_are_rejected(harness):
    harness.community()
    body = {
        "label": "x",
        "starts_on": "2026-09-01",
        "ends_on": "2027-06-30",
        "proposals_close_at": "2026-09-10T00:00:00-04:00",
        "voting_opens_at": "2026-09-05T00:00:00-04:00",
        "voting_closes_at": "2026-09-20T00:00:00-04:00",
    }
    response = harness.api.post("/v1/communities/c-1/cycles", json=body, headers=auth())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "voting_opens_at"
    body["voting_opens_at"] = "2026-09-11T00:00:00-04:00"
    assert harness.api.post("/v1/communities/c-1/cycles", json={**body, "votes": 3}, headers=auth()).status_code == 422
    assert harness.api.post("/v1/communities/c-1/cycles", json=body, headers=auth()).status_code == 201
    overlap = harness.api.post("/v1/communities/c-1/cycles", json=body, headers=auth())
    assert overlap.status_code == 409


def test_a_vote_whose_window_ended_is_closed_without_anyone_asking(harness, clock):
    harness.community()
    harness.join("m-1")
    cycle = open_cycle(harness)
    theme = propose(harness, cycle, "m-1", "Télétravail")
    clock.now = START + timedelta(days=11)
    harness.api.post(f"/v1/cycles/{cycle['id']}/votes", json={"theme_id": theme["id"]}, headers=member("m-1"))
    assert harness.run_job("close-due-votes") == []
    clock.now = START + timedelta(days=20)
    assert harness.run_job("close-due-votes") == [cycle["id"]]
    assert harness.run_job("close-due-votes") == []
    read = harness.api.get(f"/v1/cycles/{cycle['id']}", headers=member("m-1")).json()
    assert read["status"] == "closed"
    assert read["retained"][0]["votes"] == 1
    assert len(harness.published("org.cercle.sessions.themes.retained.v1")) == 1


def test_an_erased_voter_still_counts_but_is_no_longer_linked_to_the_vote(harness, clock):
    from sqlalchemy import select

    from cercle_sessions.adapters import orm
    from cercle_shared.contracts import registration

    harness.community()
    harness.join("m-1")
    cycle = open_cycle(harness)
    theme = propose(harness, cycle, "m-1", "Télétravail")
    clock.now = START + timedelta(days=11)
    harness.api.post(f"/v1/cycles/{cycle['id']}/votes", json={"theme_id": theme["id"]}, headers=member("m-1"))
    harness.publish(registration.MemberErased(member_id="m-1", erased_at=clock.now))
    results = harness.api.get(f"/v1/cycles/{cycle['id']}/results", headers=auth()).json()
    assert results["total_votes"] == 1
    with harness.runtime.db_factory() as db:
        voters = db.scalars(select(orm.votes.c.member_id)).all()
        proposers = db.scalars(select(orm.themes.c.proposer_id)).all()
    assert voters
    assert "m-1" not in voters
    assert proposers == [None]
