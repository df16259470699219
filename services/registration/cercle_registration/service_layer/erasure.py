"""Erasure (Québec's Law 25): the member, or an operator on their behalf, has the personal data deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cercle_shared.contracts import registration as contracts
from cercle_shared.messaging import EventContext
from cercle_shared.principal import Principal

from ..domain import model
from . import access
from .members import find_member
from .unit_of_work import RegistrationUnitOfWork


@dataclass(frozen=True)
class EraseMember:
    member_id: str


def erase_member(
    cmd: EraseMember, uow: RegistrationUnitOfWork, principal: Principal, clock: model.Clock = model.now
) -> None:
    """No row keeps the member's name or email; the other services follow MemberErased."""
    with uow:
        member = find_member(uow, cmd.member_id)
        access.check_personal(principal, member, "erase a member")
        erase(member, uow, clock())
        uow.commit()


def erase(member: model.Member, uow: RegistrationUnitOfWork, at: datetime) -> None:
    """Erase inside an open unit of work (also used to undo an import that lost a race)."""
    member.erase(at)
    # Counts over time are the business of the services that consumed the membership events.
    uow.memberships.delete_all_of(member.id)
    uow.sign_in.delete_all_of(member.id)  # every refresh token and pending sign-in code: she is signed out
    uow.members.delete(member)


def erase_again(event: contracts.MemberErased, uow: RegistrationUnitOfWork, ctx: EventContext) -> None:
    """A database restored from a backup taken before her erasure has her again: erase her again, at the time she
    was erased. MemberErased and the contacts tombstone are published again (new ids): the other services' reactions
    find nothing left to remove; the tombstone removes at once her contact records from the restored outbox (which
    would otherwise send unpublished ones again) and has the contacts topic compact them away again."""
    member = uow.members.get(event.member_id)
    if member is not None:
        erase(member, uow, event.erased_at)
