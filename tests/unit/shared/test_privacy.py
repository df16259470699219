from datetime import UTC, datetime

from sqlalchemy import MetaData, select

from cercle_shared.db import make_engine, make_session_factory
from cercle_shared.privacy import ErasureLedger, erased_members_table, erasure_key


def test_the_ledger_remembers_an_erasure_without_keeping_the_id(tmp_path):
    metadata = MetaData()
    table = erased_members_table(metadata)
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    metadata.create_all(engine)
    db_factory = make_session_factory(engine)
    at = datetime(2026, 11, 21, 12, tzinfo=UTC)
    with db_factory.begin() as db:
        ledger = ErasureLedger(db, table)
        ledger.record("m-1", at)
        ledger.record("m-1", at)  # idempotent
    with db_factory() as db:
        ledger = ErasureLedger(db, table)
        assert "m-1" in ledger
        assert "m-2" not in ledger
        assert ledger.erased_at("m-1") == at
        assert db.execute(select(table.c.key)).scalars().all() == [erasure_key("m-1")]
        assert "m-1" not in erasure_key("m-1")
