"""Two instances of the notifications service on one PostgreSQL database hand over and send each due reminder
once, to a real SMTP server process: the scheduler's claim (FOR UPDATE SKIP LOCKED) and the sender's claim keep
them apart while both run at the same time."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cercle_notifications.adapters.timed_orm import timed_messages
from cercle_notifications.domain.timed import TimedStatus
from cercle_shared.db.migrations import upgrade
from devtools.smtp import LocalSmtp
from tests.support.harness import Clock, ServiceHarness
from tests.unit.notifications.timed.conftest import HAND_OVER, SEND, World, local

pytestmark = pytest.mark.integration

MEMBERS = 40
SESSION = local(2026, 9, 15, 18)


@pytest.fixture
def smtp(tmp_path):
    with LocalSmtp(tmp_path / "mail") as server:
        yield server


def instance(url: str, clock: Clock, smtp: LocalSmtp) -> ServiceHarness:
    return ServiceHarness(
        "notifications",
        url,
        clock=clock,
        settings_overrides={"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "timed_batch_size": 7},
    )


def test_two_instances_on_postgresql_send_each_due_reminder_once(pg_url, smtp):
    upgrade("cercle_notifications:migrations", pg_url)
    clock = Clock()
    first, second = instance(pg_url, clock, smtp), instance(pg_url, clock, smtp)
    try:
        world = World(first, smtp)
        session = world.schedule(SESSION)
        emails = []
        for n in range(MEMBERS):
            member, email = world.person(name=f"Membre {n}")
            world.confirm(member, session)
            emails.append(email)
        clock.now = local(2026, 9, 14, 18, 5)  # both offsets due, the session still ahead

        errors: list[BaseException] = []

        def run(h: ServiceHarness) -> None:
            try:
                for _ in range(12):
                    h.run_job(HAND_OVER)
                    h.run_job(SEND)
            except BaseException as exc:  # reported below, with the thread's failure
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(h,)) for h in (first, second, first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        for h in (first, second):  # whatever is left (a lease that ran out...) goes in a last quiet round
            h.run_job(HAND_OVER)
            h.run_job(SEND)

        sent = [m for m in smtp.messages() if "Rappel" in str(m["Subject"])]
        per_recipient = Counter(str(m["To"]).split("<")[-1].rstrip(">") for m in sent)
        assert per_recipient == Counter(dict.fromkeys(emails, 2))  # 7 days and 1 day: each once
        assert len({m["Message-ID"] for m in sent}) == 2 * MEMBERS
        with first.runtime.db_factory() as db:
            statuses = dict(
                db.execute(select(timed_messages.c.status, func.count()).group_by(timed_messages.c.status)).all()
            )
        assert statuses == {TimedStatus.HANDED_OVER.value: 2 * MEMBERS}
    finally:
        first.runtime.engine.dispose()
        second.runtime.engine.dispose()


def test_a_reminder_due_while_no_instance_ran_goes_once_when_one_starts_again(pg_url, smtp):
    upgrade("cercle_notifications:migrations", pg_url)
    clock = Clock()
    before = instance(pg_url, clock, smtp)
    world = World(before, smtp)
    member, email = world.person()
    session = world.schedule(SESSION)
    world.confirm(member, session)
    before.runtime.engine.dispose()  # stopped before the first reminder's moment

    clock.now = local(2026, 9, 8, 18) + timedelta(hours=30)
    after = instance(pg_url, clock, smtp)
    try:
        for _ in range(3):
            after.run_job(HAND_OVER)
            after.run_job(SEND)
    finally:
        after.runtime.engine.dispose()
    assert [str(m["Subject"]) for m in smtp.messages() if email in str(m["To"])] == [
        "Rappel : Nature et santé mentale, dans 7 jours"
    ]
