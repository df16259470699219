from cercle_insights.entrypoints.consumers import subscriptions
from cercle_shared.messaging import Envelope, IdempotentConsumer, Record

from . import events as ev


def _record(envelope: Envelope, offset: int) -> Record:
    key, value, headers = envelope.to_kafka()
    return Record("cercle.sessions.registrations", 0, offset, key, value, {k: v.encode() for k, v in headers.items()})


async def test_a_redelivered_event_changes_nothing_even_after_later_events(insights, project, stats):
    dead_letters = []

    async def publish_dead_letter(*args):
        dead_letters.append(args)

    consumer = IdempotentConsumer(
        name="insights",
        uow_factory=insights.uow,
        tables=insights.runtime.tables,
        subscriptions=subscriptions(),
        dead_letter_topic="cercle.deadletter.insights",
        publish_dead_letter=publish_dead_letter,
    )
    community, session = ev.new_id(), ev.new_id()
    project(ev.community_created(community))
    seat = ev.confirmed(community, session, "m1")
    first = Envelope.wrap(seat, source="/cercle/sessions")

    await consumer.handle(_record(first, 0))
    cancelled = Envelope.wrap(ev.registration_cancelled(seat, "confirmed"), source="/cercle/sessions")
    await consumer.handle(_record(cancelled, 1))
    await consumer.handle(_record(first, 0))  # redelivered: would re-confirm the seat if applied again

    registrations = stats(community).registrations
    assert (registrations.confirmed, registrations.cancelled) == (0, 1)
    assert dead_letters == []
