"""Crypto-shredding a finished case: its data key destroyed, every other copy of the
citizen's data it left in the hub deleted, its non-personal facts kept for statistics.

In one transaction per batch: ``cases.data_key`` becomes :data:`SHREDDED` (the wrapped
key is gone, so no copy of a sealed value, in a backup or anywhere, opens again) and
the sealed ``applicant`` and ``data`` are emptied; ``cases.outputs`` and every step's
``inputs`` and ``outputs`` are emptied and errors keep their code only; the case's
outbox rows, webhook deliveries and dead letters are deleted. Service, agencies,
statuses, outcome codes and timings stay. The NIK blind index stays too: it names no
one without the index key, and it is how the data subject's trail still answers "what
happened to my data" (the erasure). Case history is append-only and on the audit chain,
so it stays as written (docs/privacy.md names what its notes may quote).

A case is due when it ended (terminal status) longer ago than its service's retention
period (:func:`period_of`) and nothing of it is still in flight (an unsent outbox row,
a pending webhook delivery); each shredding is one ``case.shred`` entry on the audit
chain (case, service, why, what went, and who had received which fields)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.catalogue import Catalogue
from hub.db.models import Case, OutboxMessage, Step
from hub.features.audit import AuditEvent, record
from hub.features.audit.chain import CASE_SHRED, stamp
from hub.features.deadletters.models import DeadLetter, DeadLetterAudit
from hub.features.notifications.models import DeliveryStatus, WebhookDelivery
from hub.features.privacy.crypto import SHREDDED
from hub.features.privacy.settings import RetentionSettings
from hub.features.privacy.trail import disclosure_of
from schemas.lifecycle import TERMINAL

RETENTION = "retention"
ERASURE = "erasure"
FINISHED = tuple(status.value for status in TERMINAL)


def period_of(code: str, catalogue: Catalogue, default_days: float) -> float:
    """Days a finished case of ``code`` keeps its personal data: the service's own
    ``retention_days``; for a composite its own, else the longest of its steps' services
    (the case holds all their data); else the default."""
    service = catalogue.get(code)
    if service is not None:
        return service.retention_days or default_days
    composite = catalogue.composite(code)
    if composite is None:
        return default_days
    if composite.retention_days is not None:
        return composite.retention_days
    return max(period_of(step.service, catalogue, default_days) for step in composite.steps)


def periods(catalogue: Catalogue, default_days: float) -> dict[str, float]:
    """Every service and composite whose period is not the default."""
    codes = [s.code for s in catalogue] + [c.code for c in catalogue.composites()]
    found = {code: period_of(code, catalogue, default_days) for code in codes}
    return {code: days for code, days in found.items() if days != default_days}


def is_due(status: str, finished_at: datetime, period_days: float, now: datetime) -> bool:
    """A case whose personal data has been kept long enough: ended, and longer ago than its period."""
    return status in FINISHED and finished_at < now - timedelta(days=period_days)


def _due(now: datetime, own: Mapping[str, float], default_days: float) -> ColumnElement[bool]:
    """:func:`is_due` as SQL: one cut-off per service with its own period, the default for the rest."""
    by_service = [and_(Case.service == code, Case.updated_at < now - timedelta(days=days)) for code, days in own.items()]
    rest = and_(Case.service.not_in(list(own)) if own else true(), Case.updated_at < now - timedelta(days=default_days))
    return Case.status.in_(FINISHED) & _not_shredded() & or_(rest, *by_service)


def _not_shredded() -> ColumnElement[bool]:
    return Case.data_key.is_(None) | (Case.data_key != SHREDDED)


def _key(case_id: uuid.UUID) -> bytes:
    return str(case_id).encode()


@dataclass(frozen=True)
class Why:
    """Why a case is shredded: ``retention``, or ``erasure`` with the verified request."""

    kind: str
    reason: str | None = None
    reference: str | None = None

    def detail(self) -> dict[str, Any]:
        found: dict[str, Any] = {"why": self.kind}
        if self.reference is not None:
            found |= {"reason": self.reason, "reference": self.reference}
        return found


async def in_flight(session: AsyncSession, case_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Cases with something still to deliver: an unsent outbox row or a pending webhook delivery."""
    ids = list(case_ids)
    if not ids:
        return set()
    by_key = {_key(case_id): case_id for case_id in ids}
    unsent = await session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_(by_key), OutboxMessage.sent_at.is_(None)))
    pending = await session.scalars(
        select(WebhookDelivery.case_id).where(WebhookDelivery.case_id.in_(ids), WebhookDelivery.status == DeliveryStatus.PENDING)
    )
    return {by_key[key] for key in unsent} | set(pending)


def _code_only(error: Any) -> dict[str, Any] | None:
    """An error as its outcome codes: messages may quote what the citizen sent."""
    if not isinstance(error, Mapping) or not error.get("code"):
        return None
    return {"code": error["code"], "message": "", "agency_code": error.get("agency_code")}


async def shred(session: AsyncSession, case: Any, why: Why, *, actor: str) -> Counter[str]:
    """Shred one case (a row with ``id``, ``service``, ``status``, ``created_at``,
    ``updated_at``, ``error``) in ``session``'s transaction; what went, per table."""
    case_id: uuid.UUID = case.id
    removed: Counter[str] = Counter()
    steps = list(await session.scalars(select(Step).where(Step.case_id == case_id).execution_options(populate_existing=True)))
    outbox = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.key == _key(case_id)).order_by(OutboxMessage.id)))
    disclosures = [found.as_detail() for row in outbox if (found := disclosure_of(row, {s.id: s for s in steps})) is not None]
    for step in steps:
        await session.execute(
            update(Step)
            .where(Step.id == step.id)
            .values(inputs={}, outputs={}, error=_code_only(step.error), updated_at=Step.updated_at)
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        update(Case)
        .where(Case.id == case_id)
        .values(applicant={}, data={}, outputs={}, error=_code_only(case.error), data_key=SHREDDED, updated_at=Case.updated_at)
        .execution_options(synchronize_session=False)
    )
    removed["steps"] = len(steps)
    if outbox:
        await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_([row.id for row in outbox])))
    removed["outbox"] = len(outbox)
    deliveries = list(await session.scalars(select(WebhookDelivery.id).where(WebhookDelivery.case_id == case_id)))
    if deliveries:
        await session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(deliveries)))
    removed["webhook_deliveries"] = len(deliveries)
    letters = list(await session.scalars(select(DeadLetter.id).where(DeadLetter.key == _key(case_id))))
    if letters:
        await session.execute(delete(DeadLetterAudit).where(DeadLetterAudit.dead_letter_id.in_(letters)))
        await session.execute(delete(DeadLetter).where(DeadLetter.id.in_(letters)))
    removed["dead_letters"] = len(letters)
    detail: dict[str, Any] = {
        **why.detail(),
        "service": case.service,
        "status": case.status,
        "agencies": sorted({s.agency for s in steps}),
        "created_at": stamp(case.created_at),
        "finished_at": stamp(case.updated_at),
        "removed": dict(sorted(removed.items())),
    }
    if disclosures:
        detail["disclosures"] = disclosures
    record(session, AuditEvent(kind=CASE_SHRED, actor=actor, case_id=case_id, subject=f"case:{case_id}", detail=detail))
    return removed


_FACTS = (Case.id, Case.service, Case.status, Case.created_at, Case.updated_at, Case.error)


class Shredder:
    """The retention side of shredding: every finished case past its service's period."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], policy: RetentionSettings, catalogue: Catalogue, *, actor: str = RETENTION
    ) -> None:
        self._sessions = sessions
        self._policy = policy
        self._own = periods(catalogue, policy.case_days)
        self._actor = actor

    async def due(self, now: datetime | None = None) -> list[uuid.UUID]:
        """The cases a shredding now would take (a dry run)."""
        moment = now or datetime.now(UTC)
        async with self._sessions() as session:
            candidates = list(await session.scalars(select(Case.id).where(_due(moment, self._own, self._policy.case_days))))
            busy = await in_flight(session, candidates)
        return [case_id for case_id in candidates if case_id not in busy]

    async def shred_due(self, now: datetime | None = None) -> list[uuid.UUID]:
        """Shred every case due now, batch by batch; which were shredded."""
        moment = now or datetime.now(UTC)
        done: list[uuid.UUID] = []
        after: tuple[datetime, uuid.UUID] | None = None
        while True:
            async with self._sessions.begin() as session:
                query = select(*_FACTS).where(_due(moment, self._own, self._policy.case_days))
                if after is not None:  # past the cases in flight already seen
                    at, last = after
                    query = query.where(or_(Case.updated_at > at, and_(Case.updated_at == at, Case.id > last)))
                rows = list(
                    await session.execute(
                        query.order_by(Case.updated_at, Case.id).limit(self._policy.batch_size).with_for_update(skip_locked=True)
                    )
                )
                busy = await in_flight(session, [row.id for row in rows])
                for row in rows:
                    if row.id not in busy:  # still delivering: due again at the next round
                        await shred(session, row, Why(RETENTION), actor=self._actor)
                        done.append(row.id)
            if len(rows) < self._policy.batch_size:
                return done
            after = (rows[-1].updated_at, rows[-1].id)
