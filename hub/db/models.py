"""Tables of the hub. Every state change and every outgoing message of one decision
is written in one transaction, which is what makes the bus crash-safe."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite would hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: UtcDateTime}


class Case(Base):
    """One citizen request, single- or multi-agency."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("client_id", "idempotency_key", name="uq_cases_client_idempotency"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64), doc="sha256 of the canonical body, to spot key reuse.")
    service: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="single", doc="single | composite | bundle")
    status: Mapped[str] = mapped_column(String(32), index=True)
    applicant: Mapped[dict[str, Any]]
    data: Mapped[dict[str, Any]]
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    sla_breached_at: Mapped[datetime | None] = mapped_column(nullable=True)
    traceparent: Mapped[str | None] = mapped_column(String(55), nullable=True, doc="W3C traceparent of the submission: every hop's parent.")
    officer: Mapped[str | None] = mapped_column(String(100), nullable=True, doc="Counter officer who submitted it (X-MPP-Officer).")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    steps: Mapped[list[Step]] = relationship(back_populates="case", order_by="Step.created_at")


class Step(Base):
    """One agency's part of a case."""

    __tablename__ = "steps"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="main", doc="Step name within its case (composites).")
    depends_on: Mapped[list[str]] = mapped_column(JSON, default=list, doc="Names of steps whose outputs it needs.")
    input_mapping: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, doc="Where each input comes from.")
    superseded_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, doc="Resubmitted revision of this step.")
    service: Mapped[str] = mapped_column(String(100))
    agency: Mapped[str] = mapped_column(String(50))
    operation: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(32), index=True)
    inputs: Mapped[dict[str, Any]]
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    agency_status: Mapped[str | None] = mapped_column(String(100))
    agency_ref: Mapped[str | None] = mapped_column(String(200), doc="The agency's own reference (polling backends).")
    next_poll_at: Mapped[datetime | None] = mapped_column(index=True, doc="When the poller asks the agency next.")
    poll_attempts: Mapped[int] = mapped_column(Integer, default=0)
    sla_due_at: Mapped[datetime | None] = mapped_column(index=True, doc="Deadline from the catalogue's SLA in working days.")
    sla_breached_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    case: Mapped[Case] = relationship(back_populates="steps")


class HistoryRecord(Base):
    """Append-only audit trail of every transition (and every refused one)."""

    __tablename__ = "history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    step_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, doc="Bus message that caused it.")
    officer: Mapped[str | None] = mapped_column(String(100), nullable=True, doc="Counter officer who asked for it (X-MPP-Officer).")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """A Kafka message decided in a DB transaction, waiting for the relay to publish it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unsent", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    topic: Mapped[str] = mapped_column(String(200))
    key: Mapped[bytes] = mapped_column(LargeBinary)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ProcessedMessage(Base):
    """Inbox for dedup: a consumer applies a message id at most once."""

    __tablename__ = "processed_messages"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    message_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)


class RateLimitWindow(Base):
    """Requests counted per bucket (a principal or a source address) in one fixed window.

    In the database so every API process shares one count (hub/api/ratelimit.py)."""

    __tablename__ = "rate_limit_windows"

    bucket: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True, doc="Unix seconds.")
    hits: Mapped[int] = mapped_column(Integer, default=0)
