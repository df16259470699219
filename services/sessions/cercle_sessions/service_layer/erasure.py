"""What else a member leaves behind in this service, anonymized on erasure."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session as DbSession

from ..adapters import orm
from ..domain.model import anonymous_marker


def forget_elsewhere(db: DbSession, member_id: str) -> None:
    """Votes keep counting under a marker; proposals, notes and resources lose their author; feeds go."""
    marker = anonymous_marker()  # one marker for all of one member's votes: the one-vote-per-theme rule holds
    db.execute(update(orm.votes).where(orm.votes.c.member_id == member_id).values(member_id=marker))
    db.execute(update(orm.themes).where(orm.themes.c.proposer_id == member_id).values(proposer_id=None))
    db.execute(update(orm.resources).where(orm.resources.c.shared_by == member_id).values(shared_by=None))
    db.execute(update(orm.summaries).where(orm.summaries.c.published_by == member_id).values(published_by="erased"))
    db.execute(orm.calendar_feeds.delete().where(orm.calendar_feeds.c.member_id == member_id))
