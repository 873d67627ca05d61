"""The data subject's processing record (UU PDP art. 32): for one NIK, found through the
blind index, which cases the hub holds, which agencies received which fields and when
(the commands it published, or, once retention purged them, their record on the audit
chain), who read or revealed the data, what was purged and whether the case was erased
(crypto-shredded: the audit chain). Asking
is itself recorded on each case's trail. Field names only, never values."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Case, OutboxMessage, Step
from hub.features.audit import AuditEvent, record
from hub.features.audit.chain import CASE_SHRED, DATA_READ, DATA_REVEAL, PRIVACY_TRAIL, RETENTION_PURGE, stamp
from hub.features.audit.models import AuditEntry
from hub.features.privacy.blind_index import nik_index
from hub.features.privacy.settings import PrivacySettings
from schemas import topics
from schemas.identifiers import mask_nik


@dataclass(frozen=True)
class Disclosure:
    """One command that carried the citizen's data to an agency."""

    agency: str
    service: str
    step: str
    fields: list[str]
    staged_at: datetime
    published_at: datetime | None
    purged_at: datetime | None = None  # the outbox copy deleted by retention

    def as_detail(self) -> dict[str, Any]:
        """As kept on the chain when its outbox row is purged (JSON: times as ISO 8601)."""
        return {
            "agency": self.agency,
            "service": self.service,
            "step": self.step,
            "fields": self.fields,
            "staged_at": stamp(self.staged_at),
            "published_at": stamp(self.published_at) if self.published_at else None,
        }

    @classmethod
    def from_detail(cls, detail: dict[str, Any], purged_at: datetime) -> Disclosure:
        published = detail.get("published_at")
        return cls(
            agency=str(detail["agency"]),
            service=str(detail["service"]),
            step=str(detail["step"]),
            fields=[str(f) for f in detail["fields"]],
            staged_at=datetime.fromisoformat(detail["staged_at"]),
            published_at=datetime.fromisoformat(published) if published else None,
            purged_at=purged_at,
        )


@dataclass(frozen=True)
class Purge:
    """Copies of the case's data deleted by retention, by table (outbox, webhook_deliveries, dead_letters)."""

    at: datetime
    actor: str
    counts: dict[str, int]


@dataclass(frozen=True)
class Erased:
    """The case crypto-shredded: why (``retention`` or ``erasure``) and, for an erasure, the request's reference."""

    at: datetime
    actor: str
    why: str
    reference: str | None


@dataclass(frozen=True)
class Access:
    at: datetime
    actor: str
    kind: str  # data.read | data.reveal | privacy.trail
    subject: str | None
    reason: str | None


@dataclass
class CaseRecord:
    case_id: uuid.UUID
    service: str
    status: str
    client_id: str
    created_at: datetime
    disclosures: list[Disclosure] = field(default_factory=list)
    accesses: list[Access] = field(default_factory=list)
    purges: list[Purge] = field(default_factory=list)
    erased: Erased | None = None


@dataclass(frozen=True)
class Trail:
    nik: str  # masked
    cases: list[CaseRecord]


async def trail(session: AsyncSession, settings: PrivacySettings, nik: str, *, actor: str, via: str) -> Trail:
    """The record for ``nik``; recorded on every case found as read by ``actor`` (commit the session)."""
    cases = list(await session.scalars(select(Case).where(Case.nik_index == nik_index(settings, nik)).order_by(Case.created_at)))
    records = [await _case_record(session, case) for case in cases]
    for case in cases:
        record(session, AuditEvent(kind=PRIVACY_TRAIL, actor=actor, case_id=case.id, subject=f"case:{case.id}", detail={"via": via}))
    return Trail(nik=mask_nik(nik), cases=records)


async def _case_record(session: AsyncSession, case: Case) -> CaseRecord:
    steps = {s.id: s for s in await session.scalars(select(Step).where(Step.case_id == case.id))}
    commands = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.key == str(case.id).encode(), OutboxMessage.topic.startswith(topics.COMMANDS_PREFIX))
        .order_by(OutboxMessage.id)
    )
    entries = list(
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.case_id == case.id, AuditEntry.kind.in_((DATA_READ, DATA_REVEAL, PRIVACY_TRAIL, RETENTION_PURGE, CASE_SHRED)))
            .order_by(AuditEntry.seq)
        )
    )
    purges = [e for e in entries if e.kind == RETENTION_PURGE]
    shreds = [e for e in entries if e.kind == CASE_SHRED]
    purged = [Disclosure.from_detail(d, e.at) for e in purges + shreds for d in e.detail.get("disclosures", [])]
    live = [d for row in commands if (d := disclosure_of(row, steps)) is not None]
    return CaseRecord(
        case_id=case.id,
        service=case.service,
        status=case.status,
        client_id=case.client_id,
        created_at=case.created_at,
        disclosures=sorted(purged + live, key=lambda d: d.staged_at),
        accesses=[
            Access(e.at, e.actor, e.kind, e.subject, e.detail.get("reason")) for e in entries if e.kind not in (RETENTION_PURGE, CASE_SHRED)
        ],
        purges=[Purge(e.at, e.actor, {k: int(v) for k, v in e.detail.items() if k != "disclosures"}) for e in purges],
        erased=next((Erased(e.at, e.actor, str(e.detail["why"]), e.detail.get("reference")) for e in shreds), None),
    )


def disclosure_of(row: OutboxMessage, steps: dict[uuid.UUID, Step]) -> Disclosure | None:
    """A published command as who got which fields; messages that are not commands carry no data out."""
    if not row.topic.startswith(topics.COMMANDS_PREFIX):
        return None  # the hub's own topics (requests, events) stay in the hub
    envelope: dict[str, Any] = json.loads(row.value)
    payload = envelope.get("payload") or {}
    if "applicant" not in payload:
        return None  # step.cancel and polls name the step, not the citizen
    step = steps.get(uuid.UUID(envelope["step_id"])) if envelope.get("step_id") else None
    fields = [f"applicant.{k}" for k in sorted(payload.get("applicant") or {})] + [f"data.{k}" for k in sorted(payload.get("data") or {})]
    return Disclosure(
        agency=step.agency if step else row.topic.removeprefix(topics.COMMANDS_PREFIX),
        service=str(payload.get("service", "")),
        step=step.name if step else "",
        fields=fields,
        staged_at=row.created_at,
        published_at=row.sent_at,
    )
