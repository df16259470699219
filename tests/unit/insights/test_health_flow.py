"""Community health and the figures by organization, region, theme and year, through the real consumer path, the
real job and the HTTP API (in-process harness, migrated SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cercle_insights.adapters import health_orm
from cercle_insights.service_layer import health
from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.contracts.insights import CommunityHealthAlerted

from . import events as ev

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FOUNDED = NOW - timedelta(days=4 * 365)
JOB = "assess-community-health"


@pytest.fixture
def h(insights):
    insights.clock.now = NOW
    return insights


def community(h, *, regions=("13",), created_at=FOUNDED, name="CoP Laval") -> str:
    community_id = ev.new_id()
    h.publish(ev.community_created(community_id, regions=regions, created_at=created_at, name=name))
    return community_id


def members(h, community_id: str, count: int, *, at: datetime, organization_id: str | None = None) -> list[str]:
    ids = []
    for _ in range(count):
        member_id = ev.new_id()
        h.publish(
            reg.MemberRegistered(
                member_id=member_id, organization_id=organization_id, region="13", language="fr", registered_at=at
            )
        )
        h.publish(ev.joined(community_id, member_id, at=at))
        ids.append(member_id)
    return ids


def meeting(h, community_id: str, at: datetime, present: list[str], absent: int, *, theme_id: str | None = None) -> str:
    session_id = ev.new_id()
    h.publish(ev.scheduled(community_id, session_id, starts_at=at).model_copy(update={"theme_id": theme_id}))
    h.publish(
        ses.SessionHeld(session_id=session_id, community_id=community_id, theme_id=theme_id, starts_at=at, held_at=at)
    )
    h.publish(
        ses.SessionAttendanceRecorded(
            session_id=session_id,
            community_id=community_id,
            confirmed=len(present) + absent,
            present=len(present),
            absent=absent,
            present_member_ids=present,
            recorded_at=at,
        )
    )
    return session_id


def declining_community(h, *, regions=("13",)) -> tuple[str, list[str]]:
    """Four years old, nobody new for 8 months, 15 then 12 then 9 people at its last three meetings."""
    community_id = community(h, regions=regions)
    people = members(h, community_id, 16, at=FOUNDED) + members(h, community_id, 2, at=NOW - timedelta(days=240))
    for months_ago, count in ((3, 15), (2, 12), (1, 9)):
        meeting(h, community_id, NOW - timedelta(days=30 * months_ago), people[:count], 18 - count)
    return community_id, people


def alerts(h) -> list[dict]:
    return [row["data"] for row in h.published("community.health_alerted")]


# --- alerts ----------------------------------------------------------------------------------------------------------


def test_a_declining_community_raises_one_alert_and_clears_it_once_it_recovers(h):
    community_id, people = declining_community(h)

    h.run_job(JOB)
    h.run_job(JOB)  # the same state again: nothing new

    [raised] = alerts(h)
    assert raised["status"] == "raised"
    assert raised["community_id"] == community_id
    assert raised["regions"] == ["13"]
    assert set(raised["signals"]) == {"attendance_down", "no_new_member", "aging"}
    assert raised["month"] == "2026-11-01"
    CommunityHealthAlerted.model_validate(raised)
    assert h.published("community.health_alerted")[0]["key"] == community_id

    newcomers = members(h, community_id, 3, at=NOW + timedelta(days=1))
    h.advance(days=2)
    meeting(h, community_id, NOW + timedelta(days=1), people[:14] + newcomers, 1)
    h.run_job(JOB)
    h.run_job(JOB)

    assert [a["status"] for a in alerts(h)] == ["raised", "cleared"]
    assert alerts(h)[0]["alert_id"] != alerts(h)[1]["alert_id"]
    body = h.api.get(f"/v1/communities/{community_id}/health", headers=h.as_coordinator("13")).json()
    assert body["status"] == "cleared"
    assert [a["status"] for a in body["alerts"]] == ["cleared", "raised"]
    assert body["alerts"][1]["alert_id"] == alerts(h)[0]["alert_id"]


def test_a_healthy_community_raises_nothing(h):
    community_id = community(h)
    people = members(h, community_id, 12, at=FOUNDED) + members(h, community_id, 2, at=NOW - timedelta(days=40))
    for months_ago, count in ((3, 10), (2, 12), (1, 12)):
        meeting(h, community_id, NOW - timedelta(days=30 * months_ago), people[:count], 2)

    h.run_job(JOB)

    assert alerts(h) == []
    body = h.api.get(f"/v1/communities/{community_id}/health", headers=h.as_operator()).json()
    assert body["status"] == "cleared"
    assert [s["code"] for s in body["signals"]] == ["aging"]
    assert body["signals"][0]["label_fr"].startswith("Communauté")
    assert body["score"] > 70


def test_paused_communities_are_not_assessed(h):
    community_id, _ = declining_community(h)
    h.publish(reg.CommunityStatusChanged(community_id=community_id, status="paused", changed_at=NOW))

    h.run_job(JOB)

    assert alerts(h) == []


def test_a_job_run_repeated_after_a_crash_publishes_each_change_once(h):
    declining_community(h)
    run = health.assess_communities(h.uow, NOW)
    again = health.assess_communities(h.uow, NOW + timedelta(hours=1))

    assert (run.raised, again.raised) == (1, 0)
    assert len(alerts(h)) == 1
    with h.runtime.db_factory() as db:
        history = db.execute(select(health_orm.health_alerts.c.alert_id)).scalars().all()
    assert history == [alerts(h)[0]["alert_id"]]


# --- the series and the API ------------------------------------------------------------------------------------------


def test_the_series_shows_joins_attendance_first_timers_proposals_and_votes(h):
    community_id = community(h, created_at=NOW - timedelta(days=70))
    people = members(h, community_id, 4, at=NOW - timedelta(days=65))
    meeting(h, community_id, NOW - timedelta(days=40), people[:2], 2)
    meeting(h, community_id, NOW - timedelta(days=5), people[:3], 1)
    theme = ses.ThemeProposed(
        theme_id=ev.new_id(),
        cycle_id="cy",
        community_id=community_id,
        title="Pauses actives",
        need="Sédentarité",
        proposed_at=NOW - timedelta(days=6),
    )
    h.publish(theme)
    for _ in range(3):
        h.publish(
            ses.VoteCast(
                vote_id=ev.new_id(), theme_id=theme.theme_id, cycle_id="cy", community_id=community_id, cast_at=NOW
            )
        )

    body = h.api.get(
        f"/v1/communities/{community_id}/health", params={"months": 6}, headers=h.as_facilitator(community_id)
    ).json()

    series = {p["month"]: p for p in body["series"]}
    assert list(series) == ["2026-09-01", "2026-10-01", "2026-11-01"]
    assert series["2026-09-01"]["joins"] == 4
    assert (series["2026-10-01"]["present"], series["2026-10-01"]["attendance_rate"]) == (2, 0.5)
    assert (series["2026-10-01"]["first_timers"], series["2026-11-01"]["first_timers"]) == (2, 1)
    assert (series["2026-11-01"]["proposals"], series["2026-11-01"]["votes"]) == (1, 3)
    assert series["2026-11-01"]["votes_per_member"] == 0.75
    assert set(body["parts"]) == {"attendance", "renewal", "participation", "momentum"}


def test_health_is_read_within_the_callers_scope(h):
    community_id, _ = declining_community(h)

    assert h.api.get(f"/v1/communities/{community_id}/health", headers=h.as_coordinator("05")).status_code == 403
    assert h.api.get(f"/v1/communities/{community_id}/health", headers=h.as_member("stranger")).status_code == 403
    assert h.api.get("/v1/communities/nope/health", headers=h.as_operator()).status_code == 404
    assert h.api.get("/v1/regions/05/health", headers=h.as_coordinator("13")).status_code == 403
    assert h.api.get(f"/v1/communities/{community_id}/health").status_code == 401
    bad = h.api.get(f"/v1/communities/{community_id}/health", params={"months": 0}, headers=h.as_operator())
    assert bad.status_code == 422
    assert "months" in bad.text


def test_a_regions_health_lists_its_communities_lowest_score_first_with_the_alerts_raised(h):
    sick, _ = declining_community(h)
    well = community(h, name="CoP Bien")
    people = members(h, well, 10, at=NOW - timedelta(days=100))
    meeting(h, well, NOW - timedelta(days=10), people[:9], 1)
    h.run_job(JOB)

    body = h.api.get("/v1/regions/13/health", headers=h.as_coordinator("13")).json()

    assert [c["community_id"] for c in body["communities"]] == [sick, well]
    assert body["raised"] == 1
    november = body["series"][-1]
    assert november["month"] == "2026-11-01"
    assert november["active_members"] == 28


# --- figures by organization, region, theme and year ----------------------------------------------------------------


def test_a_partner_reads_her_own_organizations_figures_only_above_the_threshold(h):
    community_id = community(h, created_at=NOW - timedelta(days=400))
    staff = members(h, community_id, 5, at=NOW - timedelta(days=300), organization_id="org-a")
    few = members(h, community_id, 2, at=NOW - timedelta(days=300), organization_id="org-b")
    for org, name in (("org-a", "CISSS de Laval"), ("org-b", "Ville de Laval")):
        h.publish(reg.OrganizationCreated(organization_id=org, name=name, region="13", created_at=FOUNDED))
    meeting(h, community_id, NOW - timedelta(days=20), staff[:4] + few, 0)

    own = h.api.get("/v1/organizations/org-a/figures", params={"year": 2026}, headers=h.as_partner("org-a"))
    small = h.api.get("/v1/organizations/org-b/figures", params={"year": 2026}, headers=h.as_partner("org-b"))

    assert own.status_code == 200
    [year] = own.json()["years"]
    assert (year["members"], year["joins"], year["present"], year["enough"]) == (5, 5, 4, True)
    assert own.json()["name"] == "CISSS de Laval"
    [hidden] = small.json()["years"]
    assert (hidden["members"], hidden["present"], hidden["enough"]) == (None, None, False)
    assert h.api.get("/v1/organizations/org-a/figures", headers=h.as_partner("org-b")).status_code == 403
    assert h.api.get("/v1/organizations/org-a/figures", headers=h.as_member(staff[0])).status_code == 403
    assert h.api.get("/v1/organizations/nope/figures", headers=h.as_operator()).status_code == 404


def test_the_province_counts_a_community_of_two_regions_once(h):
    both = community(h, regions=("13", "14"), created_at=NOW - timedelta(days=100))
    one = community(h, regions=("13",), created_at=NOW - timedelta(days=100))
    shared = members(h, both, 3, at=NOW - timedelta(days=90))
    members(h, one, 2, at=NOW - timedelta(days=90))
    h.publish(ev.joined(one, shared[0], at=NOW - timedelta(days=80)))  # one person in both communities

    province = h.api.get("/v1/province/figures", params={"year": 2026}, headers=h.as_partner("org-a")).json()
    region = h.api.get("/v1/regions/14/figures", params={"year": 2026}, headers=h.as_coordinator("14")).json()

    assert province["communities"] == 2
    assert (province["years"][0]["members"], province["years"][0]["joins"]) == (5, 6)
    assert {r["region"]: r["communities"] for r in province["regions"]} == {"13": 2, "14": 1}
    assert region["communities"] == 1
    assert region["years"][0]["members"] == 3
    assert h.api.get("/v1/province/figures", headers=h.as_member(shared[0])).status_code == 403
    future = h.api.get("/v1/regions/14/figures", params={"year": 2030}, headers=h.as_operator())
    assert future.status_code == 422
    assert "year" in future.text


def test_figures_by_year_list_every_year_from_the_first_fact(h):
    community_id = community(h, created_at=datetime(2024, 3, 1, tzinfo=UTC))
    members(h, community_id, 2, at=datetime(2024, 3, 2, tzinfo=UTC))

    body = h.api.get("/v1/regions/13/figures", headers=h.as_operator()).json()

    assert [y["year"] for y in body["years"]] == [2024, 2025, 2026]
    assert [y["joins"] for y in body["years"]] == [2, 0, 0]
    assert [y["members"] for y in body["years"]] == [2, 2, 2]


def test_a_themes_figures_add_its_merged_duplicates_votes_and_its_sessions(h):
    community_id = community(h, created_at=NOW - timedelta(days=200))
    people = members(h, community_id, 6, at=NOW - timedelta(days=190))
    theme, duplicate = ev.new_id(), ev.new_id()
    for theme_id, title in ((theme, "Santé mentale"), (duplicate, "Santé psychologique")):
        h.publish(
            ses.ThemeProposed(
                theme_id=theme_id,
                cycle_id="cy",
                community_id=community_id,
                title=title,
                need="…",
                proposed_at=NOW - timedelta(days=150),
            )
        )
    for theme_id in (theme, theme, duplicate):
        h.publish(
            ses.VoteCast(
                vote_id=ev.new_id(),
                theme_id=theme_id,
                cycle_id="cy",
                community_id=community_id,
                cast_at=NOW - timedelta(days=120),
            )
        )
    h.publish(
        ses.ThemeMerged(
            theme_id=duplicate, into_theme_id=theme, cycle_id="cy", community_id=community_id, merged_at=NOW
        )
    )
    h.publish(
        ses.ThemesRetained(
            cycle_id="cy",
            community_id=community_id,
            themes=[ses.RetainedTheme(theme_id=theme, title="Santé mentale", votes=3, rank=1)],
            total_votes=3,
            retained_at=NOW - timedelta(days=100),
        )
    )
    meeting(h, community_id, NOW - timedelta(days=60), people[:5], 1, theme_id=theme)
    meeting(h, community_id, NOW - timedelta(days=30), people[1:5], 2, theme_id=theme)

    body = h.api.get(f"/v1/themes/{theme}/figures", headers=h.as_coordinator("13")).json()

    assert (body["title"], body["retained"], body["rank"]) == ("Santé mentale", True, 1)
    assert (body["votes"], body["proposals_merged"]) == (3, 1)
    assert (body["sessions_held"], body["present"], body["attendees"]) == (2, 9, 5)
    assert body["attendance_rate"] == 0.75
    assert h.api.get(f"/v1/themes/{theme}/figures", headers=h.as_coordinator("05")).status_code == 403
    assert h.api.get("/v1/themes/nope/figures", headers=h.as_operator()).status_code == 404


# --- projections and erasure ----------------------------------------------------------------------------------------


def test_erasure_drops_the_members_employer_and_her_id_from_attendance(h):
    community_id = community(h)
    [member] = members(h, community_id, 1, at=NOW - timedelta(days=30), organization_id="org-a")
    meeting(h, community_id, NOW - timedelta(days=3), [member], 0)

    h.publish(ev.erased(member, at=NOW))
    h.publish(  # replayed after the erasure: still nothing of hers
        reg.MemberProfileUpdated(member_id=member, organization_id="org-a", region="13", language="fr", updated_at=NOW)
    )

    with h.runtime.db_factory() as db:
        assert db.execute(select(health_orm.member_profiles)).all() == []
        assert db.execute(select(health_orm.session_attendees.c.member_id)).scalars().all() == [None]


def test_a_profile_update_changes_the_employer_and_keeps_the_registration_date(h):
    community_id = community(h)
    [member] = members(h, community_id, 1, at=NOW - timedelta(days=30), organization_id="org-a")

    h.publish(
        reg.MemberProfileUpdated(member_id=member, organization_id="org-b", region="99", language="fr", updated_at=NOW)
    )

    with h.runtime.db_factory() as db:
        row = db.execute(select(health_orm.member_profiles)).one()
    assert (row.organization_id, row.region) == ("org-b", None)
    assert row.registered_at == NOW - timedelta(days=30)


def test_an_organization_deleted_keeps_its_name_for_past_figures(h):
    h.publish(reg.OrganizationCreated(organization_id="org-a", name="CISSS", region="13", created_at=FOUNDED))
    h.publish(reg.OrganizationDeleted(organization_id="org-a", deleted_at=NOW))

    body = h.api.get("/v1/organizations/org-a/figures", headers=h.as_operator()).json()

    assert (body["name"], body["deleted"]) == ("CISSS", True)


def test_a_vote_told_twice_counts_once(h):
    community_id = community(h)
    vote = ses.VoteCast(vote_id=ev.new_id(), theme_id="t1", cycle_id="cy", community_id=community_id, cast_at=NOW)

    h.publish(vote)
    h.publish(vote)  # a redelivery under another envelope id, past the consumer's memory

    with h.runtime.db_factory() as db:
        assert db.execute(select(health_orm.theme_votes.c.vote_id)).scalars().all() == [vote.vote_id]


def test_an_erased_member_named_in_a_later_attendance_is_not_kept(h):
    community_id = community(h)
    erased, kept = members(h, community_id, 2, at=NOW - timedelta(days=30))
    h.publish(ev.erased(erased, at=NOW - timedelta(days=5)))

    meeting(h, community_id, NOW - timedelta(days=3), [erased, kept], 0)

    with h.runtime.db_factory() as db:
        assert db.execute(select(health_orm.session_attendees.c.member_id)).scalars().all() == [kept]
