"""Appending to the audit chain, in the transaction of the change it records.

Callers ``record`` an ``AuditEvent`` on their session; case history rows become events
by themselves (``after_flush``). Just before the transaction commits (``before_commit``)
the pending events are appended under the lock of the one ``audit_head`` row: an
``UPDATE ... RETURNING`` that takes the row lock on PostgreSQL (concurrent writers wait
for the commit, then see the moved head) and the write lock on SQLite. The lock is held
only from there to the commit, so the chain serialises commits, not whole transactions.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, event, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from hub.db.models import HistoryRecord
from hub.features.audit.models import HEAD_ID, AuditEntry, AuditHead
from hub.features.deadletters.models import DeadLetterAudit
from hub.features.principals.models import PrincipalAudit

_PENDING = "mpp.audit.pending"

CASE_HISTORY = "case.history"
OPERATOR_ACTION = "operator.action"
DATA_READ = "data.read"
DATA_REVEAL = "data.reveal"
PRIVACY_TRAIL = "privacy.trail"
RETENTION_PURGE = "retention.purge"
CASE_SHRED = "case.shred"  # a case's data key destroyed (hub/features/privacy/shred.py)


@dataclass(frozen=True)
class AuditEvent:
    """What happened, by whom, about which case; ``detail`` holds field names and reasons, never personal values."""

    kind: str
    actor: str
    case_id: uuid.UUID | None = None
    subject: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


def record(session: AsyncSession | Session, audit_event: AuditEvent) -> None:
    """Append ``audit_event`` to the chain when ``session``'s transaction commits (and never if it rolls back)."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    sync.info.setdefault(_PENDING, []).append(audit_event)


def canonical(value: Mapping[str, Any]) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    *,
    seq: int,
    at: datetime,
    kind: str,
    actor: str,
    case_id: uuid.UUID | None,
    subject: str | None,
    detail: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 of the entry's canonical JSON, the previous entry's hash included."""
    body = {
        "seq": seq,
        "at": stamp(at),
        "kind": kind,
        "actor": actor,
        "case_id": str(case_id) if case_id else None,
        "subject": subject,
        "detail": dict(detail),
        "prev": prev_hash,
    }
    return hashlib.sha256(canonical(body)).hexdigest()


def hash_of(entry: AuditEntry, *, seq: int | None = None) -> str:
    """``entry``'s hash recomputed from its columns (at another ``seq`` to test a move)."""
    return entry_hash(
        seq=entry.seq if seq is None else seq,
        at=entry.at,
        kind=entry.kind,
        actor=entry.actor,
        case_id=entry.case_id,
        subject=entry.subject,
        detail=entry.detail,
        prev_hash=entry.prev_hash,
    )


def history_detail(row: HistoryRecord) -> dict[str, Any]:
    """What the chain keeps of a history row (and what the verifier compares it with);
    the counter officer only when there is one, so entries chained before it still match."""
    detail: dict[str, Any] = {
        "step_id": str(row.step_id) if row.step_id else None,
        "from": row.from_status,
        "to": row.to_status,
        "note": row.note,
        "message_id": str(row.message_id) if row.message_id else None,
    }
    if row.officer:
        detail["officer"] = row.officer
    return detail


def _history_event(row: HistoryRecord) -> AuditEvent:
    return AuditEvent(kind=CASE_HISTORY, actor="hub", case_id=row.case_id, subject=f"history:{row.id}", detail=history_detail(row))


def append(connection: Connection, events: list[AuditEvent]) -> int:
    """Chain ``events`` after the head, under its lock; returns the last sequence number."""
    moved = connection.execute(
        update(AuditHead).where(AuditHead.id == HEAD_ID).values(seq=AuditHead.seq + len(events)).returning(AuditHead.seq, AuditHead.hash)
    ).one()
    seq, prev = int(moved.seq) - len(events), str(moved.hash)
    rows = []
    now = datetime.now(UTC)
    for audit_event in events:
        seq += 1
        detail = dict(audit_event.detail)
        values: dict[str, Any] = {
            "seq": seq,
            "at": now,
            "kind": audit_event.kind,
            "actor": audit_event.actor,
            "case_id": audit_event.case_id,
            "subject": audit_event.subject,
            "detail": detail,
            "prev_hash": prev,
        }
        prev = entry_hash(**values)
        rows.append({**values, "hash": prev})
    connection.execute(insert(AuditEntry), rows)
    connection.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(hash=prev))
    return int(seq)


def _action_event(row: DeadLetterAudit) -> AuditEvent:
    return AuditEvent(
        kind=OPERATOR_ACTION,
        actor=row.actor,
        subject=f"dead_letter:{row.dead_letter_id}",
        detail={"audit_id": row.id, "action": row.action, "result": row.result, "detail": row.detail},
    )


def _principal_event(row: PrincipalAudit) -> AuditEvent:
    """A key created, rotated or revoked; the detail names key ids and rights, never a key."""
    return AuditEvent(
        kind=OPERATOR_ACTION,
        actor=row.actor,
        subject=f"principal:{row.kind}:{row.name}",
        detail={"principal_audit_id": row.id, "action": row.action, "detail": row.detail},
    )


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    """History rows, dead-letter actions and changes of principals join the chain by
    themselves, in the order written."""
    history = sorted((obj for obj in session.new if isinstance(obj, HistoryRecord)), key=lambda row: row.id)
    actions = sorted((obj for obj in session.new if isinstance(obj, DeadLetterAudit)), key=lambda row: row.id)
    principals = sorted((obj for obj in session.new if isinstance(obj, PrincipalAudit)), key=lambda row: row.id)
    if history or actions or principals:
        pending = session.info.setdefault(_PENDING, [])
        pending.extend(_history_event(row) for row in history)
        pending.extend(_action_event(row) for row in actions)
        pending.extend(_principal_event(row) for row in principals)


def _before_commit(session: Session) -> None:
    session.flush()  # history rows get their ids and join the pending events
    events: list[AuditEvent] = session.info.pop(_PENDING, [])
    if events:
        append(session.connection(), events)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def install() -> None:
    """Chain what every session of this process commits (idempotent)."""
    if not event.contains(Session, "before_commit", _before_commit):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_rollback", _after_rollback)


install()
