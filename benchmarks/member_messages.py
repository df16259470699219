"""How long the members' messages take to fan out, on SQLite: prints figures, asserts nothing.

    python -m benchmarks.member_messages [--members 2000]

- announcement: one SessionScheduled to a community of N members, through the real reaction (N deliveries owed);
- digest: the "send-digests" work for N members on their digest day, each with news in her community (N owed),
  then a second run that finds every digest already owed (the idempotent path).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cercle_notifications.adapters.repository import NewsItem
from cercle_notifications.bootstrap import MIGRATIONS, build_runtime
from cercle_notifications.config import Settings
from cercle_notifications.domain import model
from cercle_notifications.service_layer import announcements, digests
from cercle_shared.contracts import sessions as session_events
from cercle_shared.db.migrations import upgrade
from cercle_shared.messaging import EventContext

TUESDAY_9AM = datetime(2026, 9, 8, 13, 0, tzinfo=UTC)


def _members(runtime, community_id: str, count: int, at: datetime) -> None:
    with runtime.uow() as uow:
        for _ in range(count):
            member_id = str(uuid.uuid4())
            uow.contacts.add(model.Contact(member_id, f"{member_id[:8]}@example.org", "M", "fr", {"email": True}, at))
            uow.memberships.add(
                model.Membership(str(uuid.uuid4()), community_id, member_id, model.MembershipRole.PARTICIPANT, at)
            )
            uow.preferences.add(model.Preferences(member_id=member_id, digest_day="tuesday", updated_at=at))
        uow.news.record(NewsItem("resource", str(uuid.uuid4()), community_id, "Guide", at + timedelta(days=3)))
        uow.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(MIGRATIONS, url)
        runtime = build_runtime(Settings(database_url=url, jwt_secret="benchmark-only-secret-value-32-bytes!!"))
        community_id = str(uuid.uuid4())
        _members(runtime, community_id, args.members, TUESDAY_9AM - timedelta(days=7))

        start = TUESDAY_9AM - timedelta(days=6)
        event = session_events.SessionScheduled(
            session_id=str(uuid.uuid4()),
            community_id=community_id,
            title="Nature et santé mentale",
            starts_at=start + timedelta(days=10),
            ends_at=start + timedelta(days=10, hours=2),
            mode="virtual",
            capacity=20,
        )
        ctx = EventContext(str(uuid.uuid4()), "bench", "/bench", start, "bench", "")
        began = time.perf_counter()
        with runtime.uow() as uow:
            announcements.session_scheduled(event, uow, ctx)
            uow.commit()
        fan_out = time.perf_counter() - began
        print(f"announcement to {args.members} members: {fan_out:.2f} s ({args.members / fan_out:.0f} deliveries/s)")

        began = time.perf_counter()
        owed = digests.owe_digests(runtime.uow(), TUESDAY_9AM, 8)
        first = time.perf_counter() - began
        began = time.perf_counter()
        again = digests.owe_digests(runtime.uow(), TUESDAY_9AM + timedelta(minutes=15), 8)
        second = time.perf_counter() - began
        print(
            f"weekly digest, {args.members} members: {owed} owed in {first:.2f} s; rerun owed {again} in {second:.2f} s"
        )
        runtime.engine.dispose()


if __name__ == "__main__":
    main()
