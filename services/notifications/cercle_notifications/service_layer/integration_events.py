"""The one place where this service's domain events become the integration events it publishes."""

from __future__ import annotations

from cercle_shared.contracts import notifications as contracts
from cercle_shared.uow import translation_table

from ..domain import events

translate = translation_table(
    {
        events.EmailDeliveryRecorded: lambda e: contracts.EmailDeliveryRecorded(
            delivery_id=e.delivery_id,
            member_id=e.member_id,
            kind=e.kind,
            language=e.language,
            status=e.status.value,
            occurred_at=e.occurred_at,
            session_id=e.session_id,
        ),
        events.PreferencesChanged: lambda e: (),  # a member's choices stay in this service
    }
)
