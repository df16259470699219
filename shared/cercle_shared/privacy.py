"""What a service keeps of an erased member: a one-way digest of the id and the time of erasure.

Topics are not ordered with one another, so an event about a member (a membership, a registration,
a contact) can arrive after their erasure. The ledger lets a consumer recognise such a late event
and drop it, without keeping the member id itself.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Column, MetaData, String, Table, select
from sqlalchemy.orm import Session

from .db.types import UtcDateTime

TABLE = "erased_members"


def erasure_key(member_id: str) -> str:
    return hashlib.sha256(member_id.encode()).hexdigest()


def erased_members_table(metadata: MetaData) -> Table:
    if TABLE in metadata.tables:
        return metadata.tables[TABLE]
    return Table(
        TABLE,
        metadata,
        Column("key", String(64), primary_key=True),
        Column("erased_at", UtcDateTime(), nullable=False),
    )


class ErasureLedger:
    def __init__(self, db: Session, table: Table) -> None:
        self._db = db
        self._t = table

    def record(self, member_id: str, at: datetime) -> None:
        if self.erased_at(member_id) is None:
            self._db.execute(self._t.insert().values(key=erasure_key(member_id), erased_at=at))

    def erased_at(self, member_id: str) -> datetime | None:
        return self._db.execute(select(self._t.c.erased_at).where(self._t.c.key == erasure_key(member_id))).scalar()

    def __contains__(self, member_id: str) -> bool:
        return self.erased_at(member_id) is not None
