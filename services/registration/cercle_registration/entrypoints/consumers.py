"""Registration consumes no event: it is where members, communities and memberships begin."""

from __future__ import annotations

from cercle_shared.messaging import Subscriptions


def subscriptions() -> Subscriptions:
    return Subscriptions()
