"""Tables of portal notifications: webhook subscriptions, their delivery log, and the
fan-out cursor over the history table.

They share ``hub.db.models.Base`` so Alembic's metadata (and ``create_all`` in tests)
includes them once this module is imported.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.models import Base, utcnow

WEBHOOK_CURSOR = "webhooks"


class DeliveryStatus:
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookSubscription(Base):
    """A portal client's endpoint. The secret signs every delivery; it is stored (HMAC
    needs it) but only ever shown to the client once, in the creation response."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    secret: Mapped[str] = mapped_column(String(200))
    start_after_event_id: Mapped[int] = mapped_column(
        Integer, default=0, doc="Last history id when the subscription was made: older events are not sent to it."
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True, doc="Soft delete: the delivery log stays for audit.")


class WebhookDelivery(Base):
    """One event for one subscription, and what happened when we sent it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_subscription_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_id: Mapped[int] = mapped_column(Integer, doc="The history row's id.")
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text, doc="The exact JSON sent, frozen at fan-out so every retry is identical.")
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationCursor(Base):
    """How far a fan-out has read the history table (one row per consumer name)."""

    __tablename__ = "notification_cursor"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_history_id: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(nullable=True, default=utcnow, onupdate=utcnow)
