"""The audit chain's tables. ``audit_log`` and ``audit_checkpoints`` refuse UPDATE,
DELETE and TRUNCATE by trigger (migration 0010); ``audit_head`` is the one row that
serialises appends: every writer locks it, takes the next sequence numbers and moves it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Connection, Integer, String, Table, Uuid, event, insert
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.models import Base

GENESIS = "0" * 64
HEAD_ID = 1


class AuditEntry(Base):
    """One link of the chain: ``hash`` = SHA-256 of the canonical JSON of the entry with ``prev_hash``."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(
        String(40), doc="case.history | operator.action | data.read | data.reveal | privacy.trail | retention.purge"
    )
    actor: Mapped[str] = mapped_column(String(100))
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True, doc="What it is about, e.g. dead_letter:12.")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, doc="Never personal data: field names, not values.")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's last sequence number and hash; one row, locked by every append."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed statement "the chain had ``seq`` entries ending in ``hash`` at ``at``"."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200), doc="Ed25519 over the canonical JSON of seq, hash, at, key_id (base64).")


# Tables made from the models (tests, `create_all`) get the genesis head the migration inserts.
@event.listens_for(AuditHead.__table__, "after_create")
def _genesis(table: Table, connection: Connection, **_: Any) -> None:
    connection.execute(insert(table).values(id=HEAD_ID, seq=0, hash=GENESIS))
