"""The transactional outbox, write side: a message is decided in the same DB
transaction as the state it announces. The relay (``hub/runtime/relay.py``) publishes
it afterwards, so a 202 or a state change is never without its message."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import OutboxMessage
from messaging.headers import envelope_headers
from schemas.envelope import Envelope


def enqueue(session: AsyncSession, topic: str, envelope: Envelope, *, correlation_id: str, traceparent: str) -> None:
    """Stage ``envelope`` for ``topic`` in the caller's transaction."""
    headers = envelope_headers(envelope, correlation_id=correlation_id, traceparent=traceparent)
    session.add(
        OutboxMessage(
            message_id=envelope.message_id,
            topic=topic,
            key=envelope.key,
            value=envelope.to_bytes(),
            headers={k: v.decode() for k, v in headers},
        )
    )
