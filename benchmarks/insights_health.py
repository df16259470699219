"""Community health for 200 communities over 4 years, on PostgreSQL: prints figures, asserts nothing.

    python -m benchmarks.insights_health [--communities 200] [--years 4] [--batch 1000] [--replicate 1]

Synthetic events (communities, members and their employers, joins and departures, sessions scheduled and held with
attendance naming who came, theme proposals, votes, retained themes), about a third of the communities shaped to
decline in their last year. They are loaded through the real projections: each event's reaction, taken from
insights' own subscription table (`subscriptions().handler_for(type)`), applied through the unit of work, `--batch`
events per transaction (the consumer's batch path without the broker; the broker itself is measured elsewhere).
On a busy machine loading is the slow part (a few database round trips per event): `--replicate K` loads
`communities / K` of them through the reactions, then copies their projected rows K - 1 times in SQL (new ids, so new
communities and new people) to reach `--communities` for the timings; the output says how many were loaded which way.

Then timed:
- the monthly series (48 months) of every community, grouped (`all_series`) and one community at a time
  (`monthly_series`, as the API and the dashboard ask for it);
- the `assess-community-health` job, a first run (alerts raised) and a second (nothing changes);
- the health API of a community and of a region, and the dashboard page of a community and of a region (if the
  dashboard route is there), through the real app in process. A page's first view draws its charts; drawn charts
  are kept by the figures they show, so the same page opened again is not drawn again: both are printed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from cercle_insights.bootstrap import MIGRATIONS, build_app
from cercle_insights.config import Settings
from cercle_insights.entrypoints.consumers import subscriptions
from cercle_insights.service_layer import health, reports
from cercle_shared.auth import issue_token
from cercle_shared.contracts import CATALOG, IntegrationEvent
from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.db.migrations import upgrade
from cercle_shared.messaging import EventContext
from devtools.postgres import LocalPostgres

SECRET = "benchmark-only-secret-value-32-bytes!!"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REGIONS = [f"{n:02d}" for n in range(1, 18)]


def _id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def community_events(
    rng: random.Random, years: int, declining: bool, organizations: list[str]
) -> Iterator[IntegrationEvent]:
    """One community's history, oldest first."""
    community_id = _id(rng)
    start = NOW - timedelta(days=365 * years)
    regions = rng.sample(REGIONS, 2 if rng.random() < 0.1 else 1)
    yield reg.CommunityCreated(
        community_id=community_id,
        name_fr=f"CoP {community_id[:6]}",
        name_en=f"CoP {community_id[:6]}",
        kind="community_of_practice",
        regions=regions,
        cadence=8,
        status="active",
        created_at=start,
    )
    decline_from = NOW - timedelta(days=300)
    active: dict[str, str] = {}  # member -> membership

    def join(at: datetime) -> Iterator[IntegrationEvent]:
        member_id, membership_id = _id(rng), _id(rng)
        active[member_id] = membership_id
        yield reg.MemberRegistered(
            member_id=member_id,
            organization_id=rng.choice(organizations),
            region=regions[0],
            language="fr",
            registered_at=at,
        )
        yield reg.MembershipJoined(
            membership_id=membership_id,
            community_id=community_id,
            member_id=member_id,
            role="participant",
            joined_at=at,
        )

    for _ in range(15):
        yield from join(start + timedelta(hours=1))
    day = start
    session_no = late_meetings = 0
    while day < NOW - timedelta(days=2):
        day += timedelta(days=rng.randint(38, 50))  # about 8 meetings a year
        if day >= NOW:
            break
        late = declining and day >= decline_from
        if not late:  # newcomers, and some leave
            for _ in range(rng.randint(0, 2)):
                yield from join(day - timedelta(days=5))
        if active and rng.random() < 0.3:
            member_id = rng.choice(list(active))
            yield reg.MembershipLeft(
                membership_id=active.pop(member_id),
                community_id=community_id,
                member_id=member_id,
                left_at=day - timedelta(days=3),
            )
        session_no += 1
        session_id = _id(rng)
        yield ses.SessionScheduled(
            session_id=session_id,
            community_id=community_id,
            title=f"Rencontre {session_no}",
            starts_at=day,
            ends_at=day + timedelta(hours=2),
            mode="hybrid",
            capacity=30,
        )
        yield ses.SessionHeld(session_id=session_id, community_id=community_id, starts_at=day, held_at=day)
        present = [m for m in active if rng.random() < 0.7]
        if late:  # two fewer people at each meeting of the last year
            late_meetings += 1
            present = list(active)[: max(1, int(len(active) * 0.8) - 2 * late_meetings)]
        yield ses.SessionAttendanceRecorded(
            session_id=session_id,
            community_id=community_id,
            confirmed=len(active),
            present=len(present),
            absent=len(active) - len(present),
            present_member_ids=present,
            recorded_at=day + timedelta(hours=3),
        )
        if session_no % 8 == 1:  # the yearly program cycle
            cycle_id = _id(rng)
            proposals = 3 if late else rng.randint(6, 10)
            themes = []
            for n in range(proposals):
                theme = ses.ThemeProposed(
                    theme_id=_id(rng),
                    cycle_id=cycle_id,
                    community_id=community_id,
                    title=f"Thème {n}",
                    need="Un besoin vu au travail",
                    proposed_at=day + timedelta(days=n + 1),
                )
                themes.append(theme)
                yield theme
            votes = {t.theme_id: 0 for t in themes}
            for _ in range(len(active) * (1 if late else 2)):
                theme = rng.choice(themes)
                votes[theme.theme_id] += 1
                yield ses.VoteCast(
                    vote_id=_id(rng),
                    theme_id=theme.theme_id,
                    cycle_id=cycle_id,
                    community_id=community_id,
                    cast_at=day + timedelta(days=15),
                )
            ranked = sorted(themes, key=lambda t: -votes[t.theme_id])[:3]
            yield ses.ThemesRetained(
                cycle_id=cycle_id,
                community_id=community_id,
                themes=[
                    ses.RetainedTheme(theme_id=t.theme_id, title=t.title, votes=votes[t.theme_id], rank=i + 1)
                    for i, t in enumerate(ranked)
                ],
                total_votes=sum(votes.values()),
                retained_at=day + timedelta(days=20),
            )


def load(runtime, events: list[IntegrationEvent], batch: int) -> float:
    """Each event's own reaction, `batch` events per transaction; returns seconds."""
    table = subscriptions()
    started = time.perf_counter()
    for start in range(0, len(events), batch):
        with runtime.uow() as uow:
            for event in events[start : start + batch]:
                spec = CATALOG.for_event(event)
                handler = table.handler_for(spec.type)
                ctx = EventContext(str(uuid.uuid4()), spec.type, "/bench", NOW, spec.topic.name, "k")
                handler(event, uow, ctx)  # type: ignore[misc]
            uow.commit()
    return time.perf_counter() - started


# Projection tables and their id columns: a copy suffixes every id, so that it is a new community with new people.
COPIED = {
    "communities": ("id",),
    "community_regions": ("community_id",),
    "memberships": ("id", "community_id", "member_id"),
    "member_profiles": ("member_id",),
    "sessions": ("id", "community_id"),
    "session_attendees": ("session_id", "community_id", "member_id"),
    "session_themes": ("session_id", "community_id", "theme_id"),
    "themes": ("id", "community_id", "cycle_id", "merged_into_id"),
    "theme_votes": ("vote_id", "theme_id", "community_id", "cycle_id"),
}


def replicate(runtime, copies: int) -> float:
    """Copy every projected community `copies` times (at most 9) in SQL; returns seconds."""
    from sqlalchemy import literal, select

    from cercle_insights.adapters import orm

    started = time.perf_counter()
    with runtime.db_factory() as db:
        for n in range(1, copies + 1):
            for name, ids in COPIED.items():
                table = orm.metadata.tables[name]
                columns = [c for c in table.columns if not (name == "session_attendees" and c.name == "id")]
                values = [(c + literal(f"-{n}")).label(c.name) if c.name in ids else c for c in columns]
                originals = ~table.c[ids[0]].like("%-_")  # uuids never end with "-<digit>"
                db.execute(table.insert().from_select([c.name for c in columns], select(*values).where(originals)))
        db.commit()
    return time.perf_counter() - started


def timed(label: str, run, repeat: int = 1) -> object:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    print(f"{label:62} {median * 1000:10.1f} ms" + (f"  (median of {repeat})" if repeat > 1 else ""))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--communities", type=int, default=200)
    parser.add_argument("--years", type=int, default=4)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--replicate", type=int, default=1, choices=range(1, 11), help="load communities/K, copy them K-1 times in SQL"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    organizations = [_id(rng) for _ in range(40)]
    events: list[IntegrationEvent] = [
        reg.OrganizationCreated(organization_id=o, name=f"Organisation {n}", region=REGIONS[n % 17], created_at=NOW)
        for n, o in enumerate(organizations)
    ]
    loaded = max(1, args.communities // max(1, args.replicate))
    for n in range(loaded):
        events.extend(community_events(rng, args.years, declining=n % 3 == 0, organizations=organizations))
    kinds: dict[str, int] = {}
    for e in events:
        kinds[type(e).__name__] = kinds.get(type(e).__name__, 0) + 1
    print(f"{loaded} communities x {args.years} years loaded through the reactions: {len(events)} events")
    print("  " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])))

    with tempfile.TemporaryDirectory(prefix="cercle-bench-") as tmp, LocalPostgres(Path(tmp) / "pg") as pg:
        url = pg.create_database("insights_health")
        upgrade(MIGRATIONS, url)
        settings = Settings(database_url=url, jwt_secret=SECRET)
        app = build_app(settings)
        app.state.clock = lambda: NOW
        runtime = app.state.runtime
        seconds = load(runtime, events, args.batch)
        print(
            f"{'load through the reactions (' + str(args.batch) + ' per transaction)':62} {seconds:10.1f} s"
            f"  ({len(events) / seconds:.0f} events/s)"
        )
        if args.replicate > 1:
            copied = replicate(runtime, args.replicate - 1)
            print(f"{'copied ' + str(args.replicate - 1) + ' times in SQL':62} {copied:10.1f} s")
        with runtime.db_factory() as db:
            from sqlalchemy import func, select

            from cercle_insights.adapters import health_orm, orm

            counts = {
                t.name: db.scalar(select(func.count()).select_from(t))
                for t in (
                    orm.communities,
                    orm.memberships,
                    orm.sessions,
                    health_orm.session_attendees,
                    health_orm.themes,
                    health_orm.theme_votes,
                )
            }
        print("  rows: " + ", ".join(f"{k} {v}" for k, v in counts.items()))

        series = timed(
            "monthly series, 48 months, every community (all_series)",
            lambda: health.all_series(runtime.uow(), months=48, now=NOW),
            repeat=3,
        )
        ids = sorted(series)  # type: ignore[arg-type]
        timed(
            f"monthly series, 48 months, {len(ids)} communities one at a time",
            lambda: [health.monthly_series(runtime.uow(), c, months=48, now=NOW) for c in ids],
        )
        first = timed("assess-community-health job, first run", lambda: health.assess_communities(runtime.uow, NOW))
        again = timed(
            "assess-community-health job, second run (no change)",
            lambda: health.assess_communities(runtime.uow, NOW + timedelta(hours=6)),
        )
        print(f"  first run: {first}; second run: {again}")

        api = TestClient(app)
        operator = {"Authorization": f"Bearer {issue_token(SECRET, 'operator')}"}
        region = REGIONS[0]
        community = ids[len(ids) // 2]
        drawn = getattr(reports, "_DRAWN", None)  # the drawn charts kept by their figures, when there are
        for label, path in (
            ("GET /v1/communities/{id}/health (24 months)", f"/v1/communities/{community}/health"),
            ("GET /v1/regions/{code}/health", f"/v1/regions/{region}/health"),
            ("GET /v1/province/figures", "/v1/province/figures"),
            ("GET /v1/regions/{code}/figures", f"/v1/regions/{region}/figures"),
            ("GET /dashboard/communities/{id}", f"/dashboard/communities/{community}"),
            ("GET /dashboard/regions/{code}", f"/dashboard/regions/{region}"),
        ):
            if drawn is not None:
                drawn.clear()
            t0 = time.perf_counter()
            status = api.get(path, headers=operator).status_code
            first = time.perf_counter() - t0
            if status != 200:
                print(f"{label:62} {'answered ' + str(status):>13} (not measured)")
                continue
            if path.startswith("/dashboard/"):
                print(f"{label + ', first view':62} {first * 1000:10.1f} ms")
            timed(label, lambda p=path: api.get(p, headers=operator), repeat=5)


if __name__ == "__main__":
    main()
