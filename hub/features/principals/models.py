"""Principals, their keys and the audit trail of every change to them.

A key is shown once, when made: ``mpp_<key id>_<secret>``. Only the key id (public, to
find the row) and the SHA-256 of the whole key are stored; keys are 256-bit random,
so a plain hash is enough (no password stretching needed) and a database dump holds
no usable key.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.models import Base, utcnow

KIND_PORTAL = "portal"
KIND_OPERATOR = "operator"
KINDS = (KIND_PORTAL, KIND_OPERATOR)


class Principal(Base):
    """A portal client (with the services it may request) or an operator (with roles)."""

    __tablename__ = "principals"
    __table_args__ = (UniqueConstraint("kind", "name", name="uq_principals_kind_name"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), doc="Portal client id (scopes its cases) or operator name (audit actor).")
    services: Mapped[list[str]] = mapped_column(JSON, default=list, doc="Portal: service codes it may request; none = none.")
    roles: Mapped[list[str]] = mapped_column(JSON, default=list, doc="Operator: viewer, operator, admin.")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class PrincipalKey(Base):
    """One key of a principal; two are valid at once while a rotation's grace lasts."""

    __tablename__ = "principal_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    principal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), doc="sha256 hex of the whole key.")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class PrincipalAudit(Base):
    """Append-only: who created, rotated or revoked which principal, when."""

    __tablename__ = "principal_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)
