"""`cercle-registration reapply-erasures FILE`: registration consumes nothing while it runs, so a restore shows it the
MemberErased events (cercle-ops reads them from the members topic) and it erases again each member a backup brought
back (cercle_shared.erasures)."""

from __future__ import annotations

from cercle_shared.contracts import registration as contracts
from cercle_shared.messaging import Subscriptions

from ..service_layer import erasure


def subscriptions() -> Subscriptions:
    return Subscriptions().on(contracts.MemberErased, erasure.erase_again)
