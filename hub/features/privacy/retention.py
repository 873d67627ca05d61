"""Retention: copies of citizens' data the hub no longer needs are deleted by policy.

Finished cases past their service's period are crypto-shredded in the same round
(shred.py), when the purger is given the catalogue. Three kinds of copy go (``RetentionSettings``): published outbox rows after a grace
period (the message is on its topic, and in the agency's hands), delivered or failed
webhook deliveries, and settled (resolved or replayed) dead letters with their action
rows. Unsent outbox rows, pending deliveries and dead letters still waiting for an
operator are never touched.

Every purge is on the audit chain, in the transaction of the delete: per case, a
``retention.purge`` entry with what went and, for each command that had carried the
citizen's data to an agency, its disclosure (agency, fields by name, when), so the
data subject's trail still answers "who received what" after the copy is gone; and
per batch one entry with the totals and the cut-offs. Rows are taken with ``FOR
UPDATE SKIP LOCKED``, so two router replicas purging at once take disjoint rows.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.catalogue import Catalogue
from hub.db.models import OutboxMessage, Step
from hub.features.audit import AuditEvent, record
from hub.features.audit.chain import RETENTION_PURGE, stamp
from hub.features.deadletters.models import DeadLetter, DeadLetterAudit
from hub.features.notifications.models import DeliveryStatus, WebhookDelivery
from hub.features.privacy.access import case_of
from hub.features.privacy.settings import RetentionSettings
from hub.features.privacy.shred import Shredder
from hub.features.privacy.trail import disclosure_of

OUTBOX = "outbox"
WEBHOOK_DELIVERIES = "webhook_deliveries"
DEAD_LETTERS = "dead_letters"
TABLES = (OUTBOX, WEBHOOK_DELIVERIES, DEAD_LETTERS)


@dataclass(frozen=True)
class Cutoffs:
    """Rows older than these go."""

    outbox: datetime
    webhook_deliveries: datetime
    dead_letters: datetime

    @classmethod
    def at(cls, now: datetime, policy: RetentionSettings) -> Cutoffs:
        return cls(
            outbox=now - timedelta(hours=policy.outbox_grace_hours),
            webhook_deliveries=now - timedelta(days=policy.webhook_delivery_days),
            dead_letters=now - timedelta(days=policy.dead_letter_days),
        )

    def stamped(self) -> dict[str, str]:
        return {OUTBOX: stamp(self.outbox), WEBHOOK_DELIVERIES: stamp(self.webhook_deliveries), DEAD_LETTERS: stamp(self.dead_letters)}


@dataclass
class Purged:
    """What one purge deleted (or, in a dry run, would delete), per table and per case."""

    counts: Counter[str] = field(default_factory=Counter)
    cases: set[uuid.UUID] = field(default_factory=set)
    shredded: list[uuid.UUID] = field(default_factory=list)  # whole cases crypto-shredded

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + len(self.shredded)

    def add(self, other: Purged) -> None:
        self.counts.update(other.counts)
        self.cases |= other.cases
        self.shredded += other.shredded


def _settled_at() -> ScalarSelect[datetime]:
    """When an operator last acted on a dead letter (resolved or replayed it)."""
    return select(func.max(DeadLetterAudit.at)).where(DeadLetterAudit.dead_letter_id == DeadLetter.id).scalar_subquery()


def _outbox_due(cutoffs: Cutoffs) -> ColumnElement[bool]:
    return OutboxMessage.sent_at.is_not(None) & (OutboxMessage.sent_at < cutoffs.outbox)


def _deliveries_due(cutoffs: Cutoffs) -> ColumnElement[bool]:
    finished = WebhookDelivery.status.in_((DeliveryStatus.DELIVERED, DeliveryStatus.FAILED))
    return finished & (WebhookDelivery.updated_at < cutoffs.webhook_deliveries)


def _dead_letters_due(cutoffs: Cutoffs, policy: RetentionSettings) -> ColumnElement[bool]:
    return DeadLetter.status.in_(policy.dead_letter_statuses) & (_settled_at() < cutoffs.dead_letters)


def _case_key(key: bytes) -> uuid.UUID | None:
    try:
        return uuid.UUID(key.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None  # not keyed by a case (e.g. a replayed record's own key)


class Purger:
    """Deletes what the policy says has been kept long enough; the router's periodic round."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        policy: RetentionSettings,
        *,
        actor: str = "retention",
        catalogue: Catalogue | None = None,
    ) -> None:
        self._sessions = sessions
        self._policy = policy
        self._actor = actor
        self._shredder = Shredder(sessions, policy, catalogue, actor=actor) if catalogue is not None else None

    async def one_round(self) -> int:
        """Purge everything due now, batch by batch; how many rows went."""
        return (await self.purge()).total

    async def purge(self, now: datetime | None = None) -> Purged:
        moment = now or datetime.now(UTC)
        cutoffs = Cutoffs.at(moment, self._policy)
        # Whole cases first: each one's copies go with it, on its one case.shred entry.
        purged = Purged(shredded=await self._shredder.shred_due(moment) if self._shredder is not None else [])
        while True:
            batch = await self._batch(cutoffs)
            purged.add(batch)
            if batch.total == 0:
                return purged

    async def due(self, now: datetime | None = None) -> Purged:
        """What a purge now would delete, deleting nothing (``mpp-hub privacy purge --dry-run``)."""
        moment = now or datetime.now(UTC)
        cutoffs = Cutoffs.at(moment, self._policy)
        found = Purged(shredded=await self._shredder.due(moment) if self._shredder is not None else [])
        async with self._sessions() as session:
            for key in await session.scalars(select(OutboxMessage.key).where(_outbox_due(cutoffs))):
                found.counts[OUTBOX] += 1
                found.cases.update(filter(None, [_case_key(key)]))
            for case_id in await session.scalars(select(WebhookDelivery.case_id).where(_deliveries_due(cutoffs))):
                found.counts[WEBHOOK_DELIVERIES] += 1
                found.cases.add(case_id)
            for row in await session.scalars(select(DeadLetter).where(_dead_letters_due(cutoffs, self._policy))):
                found.counts[DEAD_LETTERS] += 1
                found.cases.update(filter(None, [case_of(row)]))
        return found

    async def _batch(self, cutoffs: Cutoffs) -> Purged:
        """At most ``batch_size`` rows of each table, deleted and recorded in one transaction."""
        limit = self._policy.batch_size
        per_case: dict[uuid.UUID, dict[str, Any]] = defaultdict(lambda: {"disclosures": []})
        purged = Purged()
        async with self._sessions.begin() as session:
            outbox = list(
                await session.scalars(
                    select(OutboxMessage)
                    .where(_outbox_due(cutoffs))
                    .order_by(OutboxMessage.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            await self._disclosures(session, outbox, per_case)
            deliveries = list(
                await session.execute(
                    select(WebhookDelivery.id, WebhookDelivery.case_id)
                    .where(_deliveries_due(cutoffs))
                    .order_by(WebhookDelivery.created_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            dead_letters = list(
                await session.scalars(
                    select(DeadLetter)
                    .where(_dead_letters_due(cutoffs, self._policy))
                    .order_by(DeadLetter.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            for table, case_ids in (
                (OUTBOX, [_case_key(r.key) for r in outbox]),
                (WEBHOOK_DELIVERIES, [case_id for _, case_id in deliveries]),
                (DEAD_LETTERS, [case_of(r) for r in dead_letters]),
            ):
                purged.counts[table] += len(case_ids)
                for case_id in filter(None, case_ids):
                    per_case[case_id][table] = per_case[case_id].get(table, 0) + 1
            if purged.total == 0:
                return purged
            await self._delete(session, outbox, [delivery_id for delivery_id, _ in deliveries], dead_letters)
            purged.cases = set(per_case)
            self._record(session, purged, per_case, cutoffs)
        return purged

    @staticmethod
    async def _disclosures(session: AsyncSession, outbox: list[OutboxMessage], per_case: dict[uuid.UUID, dict[str, Any]]) -> None:
        """Keep who received which fields (names, times) of each command about to go."""
        by_case = {case_id: row for row in outbox if (case_id := _case_key(row.key)) is not None}
        if not by_case:
            return
        steps = {s.id: s for s in await session.scalars(select(Step).where(Step.case_id.in_(by_case)))}
        for row in outbox:
            case_id = _case_key(row.key)
            found = disclosure_of(row, steps) if case_id is not None else None
            if case_id is not None and found is not None:
                per_case[case_id]["disclosures"].append(found.as_detail())

    @staticmethod
    async def _delete(
        session: AsyncSession, outbox: list[OutboxMessage], deliveries: list[uuid.UUID], dead_letters: list[DeadLetter]
    ) -> None:
        if outbox:
            await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in outbox])))
        if deliveries:
            await session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(deliveries)))
        if dead_letters:
            ids = [r.id for r in dead_letters]
            # The action rows go with their dead letter; their copies stay on the chain.
            await session.execute(delete(DeadLetterAudit).where(DeadLetterAudit.dead_letter_id.in_(ids)))
            await session.execute(delete(DeadLetter).where(DeadLetter.id.in_(ids)))

    def _record(self, session: AsyncSession, purged: Purged, per_case: dict[uuid.UUID, dict[str, Any]], cutoffs: Cutoffs) -> None:
        for case_id, detail in sorted(per_case.items(), key=lambda item: str(item[0])):
            if not detail["disclosures"]:
                del detail["disclosures"]
            record(session, AuditEvent(kind=RETENTION_PURGE, actor=self._actor, case_id=case_id, subject=f"case:{case_id}", detail=detail))
        totals = {table: purged.counts[table] for table in TABLES}
        record(
            session,
            AuditEvent(
                kind=RETENTION_PURGE,
                actor=self._actor,
                subject="retention",
                detail={**totals, "cases": len(per_case), "before": cutoffs.stamped()},
            ),
        )
