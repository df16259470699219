"""A cycle's dates change after it opens (with If-Match, what already happened stays); blackout periods are
ranges as well as days (issue 8: item 15)."""

from datetime import date, datetime, timedelta

from tests.support.harness import START
from tests.support.services import auth

from .test_program_api import open_cycle, propose

FACILITATOR = auth("facilitator", communities=["c-1"])
COORDINATOR = auth("coordinator", regions=["13"])


def at(days: float) -> str:
    return (START + timedelta(days=days)).isoformat()


def _patch(harness, cycle_id, body, etag=None, headers=FACILITATOR):
    extra = {"If-Match": etag} if etag else {}
    return harness.api.patch(f"/v1/cycles/{cycle_id}", json=body, headers={**headers, **extra})


def _etag(harness, cycle_id):
    response = harness.api.get(f"/v1/cycles/{cycle_id}", headers=FACILITATOR)
    assert response.status_code == 200
    return response.headers["ETag"]


def test_a_cycles_dates_and_label_change_after_it_opens_with_if_match(harness, clock):
    harness.community()
    harness.join("m-1")
    cycle = open_cycle(harness)
    clock.advance(days=2)  # proposals are open
    later = {"proposals_close_at": at(12), "voting_opens_at": at(12), "voting_closes_at": at(25), "label": "2026-27"}
    assert _patch(harness, cycle["id"], later).status_code == 428
    assert _patch(harness, cycle["id"], later, etag='W/"99"').status_code == 409
    assert (
        _patch(
            harness, cycle["id"], later, etag=_etag(harness, cycle["id"]), headers=auth("member", member_id="m-1")
        ).status_code
        == 403
    )
    changed = _patch(harness, cycle["id"], {**later, "ends_on": "2027-07-15"}, etag=_etag(harness, cycle["id"]))
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["version"], body["label"], body["ends_on"]) == (2, "2026-27", "2027-07-15")
    assert datetime.fromisoformat(body["voting_closes_at"]) == START + timedelta(days=25)
    assert changed.headers["ETag"] == 'W/"2"'
    clock.now = START + timedelta(days=11)  # proposals were to close at day 10: now open until day 12
    propose(harness, cycle, "m-1", "Télétravail")


def test_what_already_happened_stays_and_the_windows_stay_in_order(harness, clock):
    harness.community()
    harness.join("m-1")
    cycle = open_cycle(harness)
    cid = cycle["id"]
    clock.now = START + timedelta(days=11)  # voting is open
    for body, field in (
        ({"proposals_close_at": at(12)}, "proposals_close_at"),
        ({"voting_opens_at": at(12)}, "voting_opens_at"),
        ({"proposals_open_at": at(1)}, "proposals_open_at"),
        ({"starts_on": "2026-08-15"}, "starts_on"),
    ):
        response = _patch(harness, cid, body, etag=_etag(harness, cid))
        assert response.status_code == 409, (body, response.text)
        assert response.json()["errors"][0]["field"] == field
    into_the_past = _patch(harness, cid, {"voting_closes_at": at(5)}, etag=_etag(harness, cid))
    assert into_the_past.status_code == 422
    assert into_the_past.json()["errors"][0]["field"] == "voting_closes_at"
    inverted = _patch(harness, cid, {"ends_on": "2026-08-01"}, etag=_etag(harness, cid))
    assert inverted.status_code == 422
    assert inverted.json()["errors"][0]["field"] == "ends_on"
    extended = _patch(harness, cid, {"voting_closes_at": at(30)}, etag=_etag(harness, cid))
    assert extended.status_code == 200, extended.text
    clock.now = START + timedelta(days=25)
    assert harness.run_job("close-due-votes") == []  # the new window holds
    clock.now = START + timedelta(days=31)
    assert harness.run_job("close-due-votes") == [cid]
    closed = _patch(harness, cid, {"voting_closes_at": at(40)}, etag=_etag(harness, cid))
    assert closed.status_code == 409
    assert harness.api.get(f"/v1/cycles/{cid}", headers=FACILITATOR).json()["status"] == "closed"


def test_a_cycle_cannot_be_moved_over_another(harness):
    harness.community()
    first = open_cycle(harness)
    second = open_cycle(harness, label="2027-2028", starts_on="2027-09-01", ends_on="2028-06-30")
    overlap = _patch(harness, second["id"], {"starts_on": "2027-06-01"}, etag=_etag(harness, second["id"]))
    assert overlap.status_code == 409
    assert overlap.json()["errors"][0]["field"] == "starts_on"
    assert _patch(harness, first["id"], {"ends_on": "2027-08-31"}, etag=_etag(harness, first["id"])).status_code == 200


def _retained_cycle(harness, clock, **overrides):
    harness.community()
    harness.join("m-1")
    cycle = open_cycle(harness, **overrides)
    theme = propose(harness, cycle, "m-1", "Télétravail")
    clock.now = START + timedelta(days=11)
    harness.api.post(
        f"/v1/cycles/{cycle['id']}/votes", json={"theme_id": theme["id"]}, headers=auth("member", member_id="m-1")
    )
    assert harness.api.post(f"/v1/cycles/{cycle['id']}/close-vote", headers=FACILITATOR).status_code == 200
    return cycle


def test_a_new_span_discards_a_proposed_plan_and_keeps_a_confirmed_plan_inside_it(harness, clock):
    cycle = _retained_cycle(harness, clock)
    cid = cycle["id"]
    plan = harness.api.post(f"/v1/cycles/{cid}/plan", json={"weekday": 3, "start_time": "13:00"}, headers=FACILITATOR)
    assert plan.json()["plan_status"] == "proposed"
    moved = _patch(harness, cid, {"ends_on": "2027-05-31"}, etag=_etag(harness, cid))
    assert moved.status_code == 200, moved.text
    assert (moved.json()["plan_status"], moved.json()["plan"]) == ("none", [])
    harness.api.post(f"/v1/cycles/{cid}/plan", json={"weekday": 3, "start_time": "13:00"}, headers=FACILITATOR)
    confirmed = harness.api.post(f"/v1/cycles/{cid}/plan/confirm", json={"capacity": 10}, headers=COORDINATOR)
    assert confirmed.status_code == 200, confirmed.text
    last = max(date.fromisoformat(s["starts_at"][:10]) for s in confirmed.json()["sessions"])
    too_short = _patch(harness, cid, {"ends_on": (last - timedelta(days=1)).isoformat()}, etag=_etag(harness, cid))
    assert too_short.status_code == 409
    assert too_short.json()["errors"][0]["field"] == "ends_on"
    longer = _patch(harness, cid, {"ends_on": "2027-06-30"}, etag=_etag(harness, cid))
    assert longer.status_code == 200
    assert longer.json()["plan_status"] == "confirmed"


def test_blackout_periods_are_ranges_as_well_as_days(harness, clock):
    cycle = _retained_cycle(harness, clock, ends_on="2027-03-31")
    url = f"/v1/cycles/{cycle['id']}/plan"
    winter = {"from": "2026-12-01", "to": "2027-01-31"}
    response = harness.api.post(
        url,
        json={"weekday": 3, "start_time": "13:00", "blackout_dates": [winter, "2026-10-29", "2026-11-05"]},
        headers=FACILITATOR,
    )
    assert response.status_code == 200, response.text
    days = [date.fromisoformat(item["starts_at"][:10]) for item in response.json()["plan"]]
    assert len(days) == 2
    for day in days:
        assert not (date(2026, 12, 1) <= day <= date(2027, 1, 31)), days
        assert day not in (date(2026, 10, 29), date(2026, 11, 5))
    for bad in (
        {"from": "2027-01-31", "to": "2027-01-01"},
        {"from": "2027-01-01"},
        {"start": "2027-01-01", "to": "2027-01-02"},
    ):
        refused = harness.api.post(
            url, json={"weekday": 3, "start_time": "13:00", "blackout_dates": [bad]}, headers=FACILITATOR
        )
        assert refused.status_code == 422, (bad, refused.text)
        assert any(e["field"].startswith("blackout_dates[0]") for e in refused.json()["errors"]), refused.json()
    everything = harness.api.post(
        url,
        json={"weekday": 3, "start_time": "13:00", "blackout_dates": [{"from": "2026-09-01", "to": "2027-03-31"}]},
        headers=FACILITATOR,
    )
    assert everything.status_code == 422
    assert everything.json()["errors"][0]["field"] == "weekday"  # no free Thursday left
