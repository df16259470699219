from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.model import Community, Member, Membership


class MemberRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, member: Member) -> None:
        self._s.add(member)

    def get(self, member_id: str) -> Member | None:
        return self._s.get(Member, member_id)

    def by_email(self, email: str) -> Member | None:
        return self._s.scalars(select(Member).where(Member.email == email)).first()


class CommunityRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, community: Community) -> None:
        self._s.add(community)

    def get(self, community_id: str) -> Community | None:
        return self._s.get(Community, community_id)


class MembershipRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, membership: Membership) -> None:
        self._s.add(membership)

    def current(self, community_id: str, member_id: str) -> Membership | None:
        return self._s.scalars(
            select(Membership).where(
                Membership.community_id == community_id,
                Membership.member_id == member_id,
                Membership.left_at.is_(None),
            )
        ).first()
