"""Who may see or change what in this service."""

from __future__ import annotations

from cercle_shared.errors import Forbidden
from cercle_shared.principal import Principal, Role


def ensure_self_or_operator(principal: Principal, member_id: str) -> None:
    """A member's preferences: the member themselves, or an operator."""
    if not (principal.is_operator or principal.is_member(member_id)):
        raise Forbidden("only the member themselves or an operator may see or change these preferences")


def deliveries_visible_to(principal: Principal, member_id: str | None) -> str | None:
    """Whose deliveries the caller may list: operators anyone's (None: everyone's); a member their own only."""
    if principal.is_operator:
        return member_id
    if principal.role is not Role.MEMBER or (member_id is not None and member_id != principal.member_id):
        raise Forbidden("members may list their own deliveries only; operators every delivery")
    return principal.member_id
