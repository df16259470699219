"""The `send-survey-messages` job with many open surveys and nothing to send: prints figures, asserts nothing.

    python -m benchmarks.survey_job [--feedback 100] [--annual 0] [--present 20] [--postgres] [--profile]

Synthetic projections loaded through insights' own reactions: communities of `--members` members who all consented
to surveys, `--feedback` sessions held yesterday with `--present` members marked present each, and `--annual` annual
surveys of a community opened by an operator. A first run of the job opens the feedback surveys and invites
everyone; the runs timed after it, an hour later, find nothing due (reminders come on day 3): the idle run, which the
job repeats every few minutes all day. `--profile` prints the top of a cProfile of one idle run.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cercle_insights.bootstrap import MIGRATIONS, build_app
from cercle_insights.config import Settings
from cercle_insights.entrypoints.survey_schemas import survey_policy
from cercle_insights.service_layer import surveys
from cercle_shared.contracts import IntegrationEvent
from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.db.migrations import upgrade
from cercle_shared.principal import Principal, Role

from .insights_health import load

SECRET = "benchmark-only-secret-value-32-bytes!!"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OPERATOR = Principal(subject="bench", role=Role.OPERATOR)


def events(feedback: int, members: int, present: int, per_community: int = 5) -> list[IntegrationEvent]:
    out: list[IntegrationEvent] = []
    communities = [str(uuid.uuid4()) for _ in range(max(1, -(-feedback // per_community)))]
    yesterday = NOW - timedelta(days=1)
    for c, community in enumerate(communities):
        out.append(
            reg.CommunityCreated(
                community_id=community,
                name_fr=f"Communauté {c}",
                name_en=f"Community {c}",
                kind="community_of_practice",
                regions=[f"{c % 17 + 1:02d}"],
                cadence=6,
                status="active",
                created_at=NOW - timedelta(days=400),
            )
        )
        people = [f"{community[:8]}-m{n}" for n in range(members)]
        for member in people:
            out.append(
                reg.MembershipJoined(
                    membership_id=str(uuid.uuid4()),
                    community_id=community,
                    member_id=member,
                    role="participant",
                    joined_at=NOW - timedelta(days=300),
                )
            )
            out.append(
                reg.MemberConsentChanged(
                    member_id=member, purpose="surveys", granted=True, changed_at=NOW - timedelta(days=300)
                )
            )
        for _ in range(per_community if c < len(communities) - 1 else feedback - per_community * c):
            session = str(uuid.uuid4())
            out.append(
                ses.SessionHeld(
                    session_id=session, community_id=community, theme_id=None, starts_at=yesterday, held_at=yesterday
                )
            )
            out.append(
                ses.SessionAttendanceRecorded(
                    session_id=session,
                    community_id=community,
                    confirmed=present,
                    present=present,
                    absent=0,
                    present_member_ids=people[:present],
                    recorded_at=yesterday,
                )
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feedback", type=int, default=100, help="feedback surveys (sessions held yesterday)")
    parser.add_argument("--annual", type=int, default=0, help="annual surveys, one per community, up to one each")
    parser.add_argument("--members", type=int, default=30, help="members per community")
    parser.add_argument("--present", type=int, default=20, help="members present per session")
    parser.add_argument("--rounds", type=int, default=5, help="idle runs timed")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL instead of SQLite")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one idle run")
    args = parser.parse_args()

    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cercle-bench-")))
        if args.postgres:
            from devtools.postgres import LocalPostgres

            url = stack.enter_context(LocalPostgres(tmp / "pg")).create_database("survey_job")
        else:
            url = f"sqlite:///{tmp / 'insights.db'}"
        upgrade(MIGRATIONS, url)
        settings = Settings(database_url=url, jwt_secret=SECRET)
        app = build_app(settings)
        runtime = app.state.runtime
        policy = survey_policy(settings)
        loaded = events(args.feedback, args.members, args.present)
        load(runtime, loaded, 1000)
        communities = [e.community_id for e in loaded if isinstance(e, reg.CommunityCreated)]
        for community in communities[: args.annual]:
            surveys.open_survey(
                surveys.OpenSurvey(
                    year=NOW.year, opens_at=NOW, closes_at=NOW + timedelta(days=30), community_id=community
                ),
                runtime.uow(),
                OPERATOR,
                NOW,
                policy,
            )

        started = time.perf_counter()
        first = surveys.send_survey_messages(runtime.uow(), NOW, policy)
        print(
            f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; {len(communities)} communities of {args.members}"
            f" members, {args.feedback} sessions held yesterday ({args.present} present), {args.annual} annual surveys"
        )
        print(
            f"{'first run: surveys opened, invitations sent':52} {time.perf_counter() - started:8.3f} s"
            f"  ({len(first.surveys_opened)} opened, {first.invitations} invitations)"
        )
        later = NOW + timedelta(hours=1)
        seconds = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            idle = surveys.send_survey_messages(runtime.uow(), later, policy)
            seconds.append(time.perf_counter() - started)
            if idle.surveys_opened or idle.invitations or idle.reminders:
                print(f"  (not idle: {idle})")
        with runtime.uow() as uow:
            open_now = len(uow.surveys.open_at(later))
        label = f"idle run ({open_now} open surveys, nothing due), median"
        print(
            f"{label:52} {statistics.median(seconds):8.3f} s"
            f"  (min {min(seconds):.3f}, max {max(seconds):.3f}, {args.rounds} runs)"
        )
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            surveys.send_survey_messages(runtime.uow(), later, policy)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        runtime.engine.dispose()


if __name__ == "__main__":
    main()
