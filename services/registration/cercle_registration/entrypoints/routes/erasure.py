from __future__ import annotations

from fastapi import APIRouter, status

from ...service_layer import erasure
from ..deps import NOT_PARTNERS, ClockDep, PrincipalDep, UowDep

router = APIRouter(prefix="/v1/members", tags=["members"], dependencies=NOT_PARTNERS)


@router.delete("/{member_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Erase a member")
def erase_member(member_id: str, principal: PrincipalDep, uow: UowDep, clock: ClockDep):
    """Law 25 erasure by the member or an operator: personal data deleted, MemberErased published."""
    erasure.erase_member(erasure.EraseMember(member_id), uow, principal, clock)


@router.post("/{member_id}/erasure", status_code=status.HTTP_204_NO_CONTENT, summary="Erase a member (as a request)")
def request_erasure(member_id: str, principal: PrincipalDep, uow: UowDep, clock: ClockDep):
    """The same as DELETE /v1/members/{member_id}, for clients that prefer a POST."""
    erasure.erase_member(erasure.EraseMember(member_id), uow, principal, clock)
