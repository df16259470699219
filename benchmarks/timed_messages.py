"""How long the scheduler takes to send N due reminders to a real SMTP server on loopback, beside a bare baseline:
prints figures, asserts nothing.

    python -m benchmarks.timed_messages [--count 10000] [--postgres]

- scheduler: N reminders planned and due; the service's two jobs (hand-over-timed-messages, then send-emails) run in
  a loop until every one is sent: claim, hand over as a delivery, check consent and preferences, render the
  bilingual templates and the .ics invitation, one SMTP conversation each, record the outcome (and its event in the
  outbox);
- baseline: the same N messages (built once, up front) handed to the same SMTP server with smtplib in a bare loop,
  one connection per message as the service does, then over one connection.
"""

from __future__ import annotations

import argparse
import smtplib
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cercle_notifications.bootstrap import MIGRATIONS, build_runtime
from cercle_notifications.config import Settings
from cercle_notifications.domain import model
from cercle_notifications.domain.model import EmailKind
from cercle_notifications.domain.timed import TimedKey
from cercle_notifications.entrypoints.jobs import delivery_sender
from cercle_notifications.service_layer import timed
from cercle_notifications.service_layer.reminders import subject_of
from cercle_notifications.service_layer.timed import TimedDispatcher
from cercle_shared.db.migrations import upgrade
from devtools.postgres import LocalPostgres
from devtools.smtp import LocalSmtp

MAIL_FROM = "Cercle <no-reply@cercle.local>"


def _plan(runtime, count: int, now: datetime) -> None:
    session_id, community_id = str(uuid.uuid4()), str(uuid.uuid4())
    starts = now + timedelta(days=1, hours=2)
    with runtime.uow() as uow:
        uow.communities.add(model.Community(community_id, "CoP SMET Laval", "Laval workplace health CoP", ["13"]))
        uow.sessions.add(
            model.ScheduledSession(
                session_id=session_id,
                community_id=community_id,
                title="Nature et santé mentale",
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                timezone="America/Toronto",
                mode="in_person",
                location="Maison du citoyen, Laval",
            )
        )
        uow.commit()
    for first in range(0, count, 1000):
        with runtime.uow() as uow:
            for n in range(first, min(count, first + 1000)):
                member_id = str(uuid.uuid4())
                uow.contacts.add(
                    model.Contact(
                        member_id=member_id,
                        email=f"membre{n}@example.org",
                        display_name=f"Membre {n}",
                        language="fr" if n % 2 else "en",
                        consents={"processing": True, "email": True},
                        updated_at=now,
                    )
                )
                timed.plan(
                    uow,
                    TimedKey(member_id, subject_of(session_id), EmailKind.SESSION_REMINDER, "P1D"),
                    due_at=now - timedelta(minutes=1),
                    not_after=starts,
                    session_id=session_id,
                    at=now,
                )
            uow.commit()


def bench_scheduler(url: str, smtp: LocalSmtp, count: int) -> float:
    upgrade(MIGRATIONS, url)
    settings = Settings(
        database_url=url,
        jwt_secret="b" * 40,
        kafka_bootstrap="127.0.0.1:9",
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        mail_from=MAIL_FROM,
        sender_batch_size=100,
    )
    runtime = build_runtime(settings)
    try:
        now = datetime.now(UTC)
        _plan(runtime, count, now)
        sender = delivery_sender(settings, runtime, model.now)
        dispatcher = TimedDispatcher(runtime.uow, model.now, batch_size=settings.timed_batch_size, max_batches=1000)
        started = time.perf_counter()
        dispatcher.run()
        while sender.send_due():
            pass
        elapsed = time.perf_counter() - started
        with runtime.uow() as uow:
            sent = len(
                uow.deliveries.page(member_id=None, status=model.DeliveryStatus.SENT, kind=None, cursor=None, limit=1)[
                    0
                ]
            )
        assert sent, "nothing was sent"
        return elapsed
    finally:
        runtime.engine.dispose()


def bench_baseline(smtp: LocalSmtp, messages: list[bytes], *, one_connection: bool) -> float:
    started = time.perf_counter()
    if one_connection:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
            for n, raw in enumerate(messages):
                client.sendmail("no-reply@cercle.local", [f"membre{n}@example.org"], raw)
    else:
        for n, raw in enumerate(messages):
            with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
                client.ehlo()
                client.sendmail("no-reply@cercle.local", [f"membre{n}@example.org"], raw)
    return time.perf_counter() - started


def _raw_messages(count: int) -> list[bytes]:
    from email.message import EmailMessage

    out = []
    for n in range(count):
        message = EmailMessage()
        message["From"], message["To"] = MAIL_FROM, f"Membre {n} <membre{n}@example.org>"
        message["Subject"] = "Rappel : Nature et santé mentale, demain"
        message.set_content("Petit rappel : la rencontre a lieu demain.\n")
        message.add_attachment(
            b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
            maintype="text",
            subtype="calendar",
            filename="invite.ics",
            params={"method": "REQUEST"},
        )
        out.append(message.as_bytes())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true", help="the scheduler on PostgreSQL (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cercle-bench-timed-") as tmp:
        root = Path(tmp)
        with LocalSmtp(root / "mail-baseline") as smtp:
            raw = _raw_messages(args.count)
            per_connection = bench_baseline(smtp, raw, one_connection=False)
            one_connection = bench_baseline(smtp, raw, one_connection=True)
        with LocalSmtp(root / "mail-scheduler") as smtp:
            if args.postgres:
                with LocalPostgres(root / "pg") as pg:
                    scheduler = bench_scheduler(pg.create_database("bench_timed"), smtp, args.count)
            else:
                scheduler = bench_scheduler(f"sqlite:///{root / 'notifications.db'}", smtp, args.count)
            delivered = len(list((root / "mail-scheduler").glob("*.eml")))
    n = args.count
    print(f"{n} due reminders, SMTP server (aiosmtpd) on loopback, {'PostgreSQL' if args.postgres else 'SQLite'}")
    print(f"  scheduler (hand over + send-emails): {scheduler:8.1f} s  {n / scheduler:7.0f} msg/s")
    print(f"  baseline, smtplib, one connection each: {per_connection:5.1f} s  {n / per_connection:7.0f} msg/s")
    print(f"  baseline, smtplib, one connection:      {one_connection:5.1f} s  {n / one_connection:7.0f} msg/s")
    print(f"  ratio scheduler / baseline (one connection each): {scheduler / per_connection:.1f}x")
    print(f"  ratio scheduler / baseline (one connection):      {scheduler / one_connection:.1f}x")
    print(f"  messages the server received from the scheduler: {delivered}")


if __name__ == "__main__":
    main()
