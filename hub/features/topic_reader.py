"""Reading one hub topic into a table: the dead-letter archiver and the adapter-status
tracker are the same loop with another handler."""

from __future__ import annotations

import asyncio

from hub.config import Settings
from messaging import ConsumeLoop, FailurePolicy, create_consumer, skip_poison, started
from messaging.consume import Decoder, Handler, T


async def follow_topic(
    settings: Settings, topic: str, handler: Handler[T], *, group_id: str, name: str, decoder: Decoder[T], stop: asyncio.Event
) -> None:
    """Feed every record of ``topic`` to ``handler`` until ``stop`` is set, committing after
    the handler (the one consume loop). A record that cannot be decoded is logged and
    skipped: these readers keep a table up to date, and dead-lettering what they read is
    not theirs to do (a dead letter cannot be dead-lettered again). The topic is prepared
    with the others by the router process."""
    consumer = create_consumer(settings.kafka, group_id)
    loop = ConsumeLoop(
        consumer,
        [topic],
        handler,
        name=name,
        decoder=decoder,
        failures=FailurePolicy(poison=skip_poison(name)),
        batch_size=settings.kafka.consumer_batch_size,
    )
    async with started(consumer):
        await loop.run(stop)
