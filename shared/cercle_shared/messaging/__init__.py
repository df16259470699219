"""Outbox, idempotent consumers and the Kafka wiring, written once."""

from .consumer import EventContext, IdempotentConsumer, Record, Subscriptions
from .envelope import Envelope, InvalidMessage
from .outbox import Outbox, OutboxRelay
from .runtime import Messaging

__all__ = [
    "Envelope",
    "EventContext",
    "IdempotentConsumer",
    "InvalidMessage",
    "Messaging",
    "Outbox",
    "OutboxRelay",
    "Record",
    "Subscriptions",
]
