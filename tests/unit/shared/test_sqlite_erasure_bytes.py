"""After an erasure and the `purge-published-outbox` job, a SQLite database's files hold no trace of the email.

Deleting a row does not erase its bytes: SQLite leaves them in free pages and in the write-ahead log unless
`secure_delete` is on (cercle_shared.db.engine sets it) and the log is checkpointed (the purge job does). The
raw bytes of the database file and of its -wal file are searched here, not what SQL can see.
"""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import Column, MetaData, String, Table, delete, select, update

from cercle_shared.contracts import registration as r
from cercle_shared.db import make_engine, make_session_factory, messaging_tables
from cercle_shared.messaging import Outbox
from cercle_shared.service import housekeeping_jobs

ERASED = "erased.person@example.org"
KEPT = "kept.person@example.org"


def _contact(member_id: str, email: str) -> r.MemberContactChanged:
    return r.MemberContactChanged(
        member_id=member_id,
        email=email,
        display_name=email.split("@")[0],
        language="fr",
        consents={"email": True},
        updated_at=datetime.now(UTC),
    )


def _files(path: Path) -> bytes:
    """The raw bytes of the database file and its write-ahead log, as a disk image would hold them."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _fill(tmp_path: Path):
    path = tmp_path / "service.db"
    engine = make_engine(f"sqlite:///{path}")
    metadata = MetaData()
    tables = messaging_tables(metadata)
    members = Table(
        "members", metadata, Column("id", String(40), primary_key=True), Column("email", String(200), unique=True)
    )
    metadata.create_all(engine)
    db_factory = make_session_factory(engine)
    outbox = Outbox(tables, source="/test")
    with db_factory.begin() as db:
        for n in range(300):  # enough rows for several pages, so deleted cells sit among live ones
            email = ERASED if n == 150 else (KEPT if n == 151 else f"member{n}@example.org")
            db.execute(members.insert().values(id=f"m-{n}", email=email))
            outbox.add(db, _contact(f"m-{n}", email))
    with db_factory.begin() as db:  # published (by the relay) a day ago
        db.execute(update(tables.outbox).values(published_at=datetime.now(UTC) - timedelta(days=1)))
    return path, engine, db_factory, tables, members


def test_an_erased_email_is_in_neither_the_database_file_nor_its_wal_after_the_purge_job(tmp_path):
    path, engine, db_factory, tables, members = _fill(tmp_path)
    assert ERASED.encode() in _files(path)

    with db_factory.begin() as db:  # the erasure: the member's row goes
        db.execute(delete(members).where(members.c.email == ERASED))
    runtime = SimpleNamespace(
        db_factory=db_factory,
        tables=tables,
        settings=SimpleNamespace(outbox_retention=0.0, housekeeping_interval=300.0),
    )
    (job,) = [job for job in housekeeping_jobs(runtime) if job.name == "purge-published-outbox"]
    assert job.run() == 300

    with db_factory() as db:
        assert db.scalar(select(members.c.email).where(members.c.email == KEPT)) == KEPT
    raw = _files(path)
    assert KEPT.encode() in raw  # the search sees live data: an absence below means something
    assert ERASED.encode() not in raw
    engine.dispose()
    assert ERASED.encode() not in _files(path)


def test_without_secure_delete_the_same_erasure_leaves_the_email_on_disk(tmp_path):
    """The control: the check above would catch a database that merely deletes rows."""
    path = tmp_path / "plain.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA secure_delete=OFF")
    db.execute("CREATE TABLE members (id TEXT PRIMARY KEY, email TEXT UNIQUE)")
    with db:
        db.executemany(
            "INSERT INTO members VALUES (?, ?)",
            [(f"m-{n}", ERASED if n == 150 else f"member{n}@example.org") for n in range(300)],
        )
    with db:
        db.execute("DELETE FROM members WHERE email = ?", (ERASED,))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    assert ERASED.encode() in _files(path)
