"""The dead-letter archive and its audit trail.

One ``dead_letters`` row per record on ``mpp.deadletter``, unique on that record's
(partition, offset) so the archiver can be redelivered without duplicating. The
value is kept as the original bytes, untouched, so a replay republishes exactly what
failed. ``dead_letter_audit`` is append-only: who did what to which dead letter,
when, and what came of it (refusals included).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.models import Base, utcnow

STATUS_NEW = "new"
STATUS_REPLAYED = "replayed"
STATUS_RESOLVED = "resolved"
STATUS_QUARANTINED = "quarantined"
STATUSES = (STATUS_NEW, STATUS_REPLAYED, STATUS_RESOLVED, STATUS_QUARANTINED)


class DeadLetter(Base):
    """A record some consumer could not process, as it was when it failed."""

    __tablename__ = "dead_letters"
    __table_args__ = (UniqueConstraint("dlq_partition", "dlq_offset", name="uq_dead_letters_dlq_position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dlq_partition: Mapped[int] = mapped_column(Integer, doc="Partition of the record on mpp.deadletter.")
    dlq_offset: Mapped[int] = mapped_column(BigInteger, doc="Offset of the record on mpp.deadletter.")
    original_topic: Mapped[str | None] = mapped_column(String(200), index=True)
    original_partition: Mapped[int | None] = mapped_column(Integer)
    original_offset: Mapped[int | None] = mapped_column(BigInteger)
    key: Mapped[bytes | None] = mapped_column(LargeBinary)
    value: Mapped[bytes | None] = mapped_column(LargeBinary, doc="The original bytes, untouched.")
    headers: Mapped[list[list[str]]] = mapped_column(JSON, default=list, doc="Original headers (no dlq.*) as [name, value] pairs.")
    error_class: Mapped[str] = mapped_column(String(200), index=True)
    error_message: Mapped[str] = mapped_column(Text, default="")
    consumer: Mapped[str] = mapped_column(String(100), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    correlation_id: Mapped[str | None] = mapped_column(String(200))
    incoming_replay_count: Mapped[int] = mapped_column(Integer, default=0, doc="dlq.replay.count the record carried when it failed.")
    dead_lettered_at: Mapped[datetime]
    archived_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), index=True)
    replay_count: Mapped[int] = mapped_column(Integer, default=0, doc="Replays of this row.")
    last_replayed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class DeadLetterAudit(Base):
    """Append-only: every action on a dead letter, and every refusal."""

    __tablename__ = "dead_letter_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dead_letter_id: Mapped[int] = mapped_column(ForeignKey("dead_letters.id"), index=True)
    actor: Mapped[str] = mapped_column(String(100), doc="Operator name, 'cli:<user>' or 'archiver'.")
    action: Mapped[str] = mapped_column(String(32), doc="archive | replay | resolve")
    result: Mapped[str] = mapped_column(String(32), doc="new | quarantined | replayed | refused | resolved")
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)
