"""Checking the chain: every entry's hash, every link, the head and the signed checkpoints.

One pass in sequence order, page by page, keeping only the few entries that fail; what
they are is decided at the end: an entry whose hash is right for another failing
entry's position was *reordered*, otherwise it was *changed*. A gap in the sequence is
a *deleted* entry; entries missing at the end show against the head and the checkpoints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import String, cast, exists, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import HistoryRecord
from hub.features.audit.chain import CASE_HISTORY, hash_of, history_detail
from hub.features.audit.checkpoint import signature_valid
from hub.features.audit.models import GENESIS, HEAD_ID, AuditCheckpoint, AuditEntry, AuditHead

ProblemKind = Literal["changed", "deleted", "reordered", "relinked", "truncated", "checkpoint", "history"]
PAGE = 5000


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    seq: int
    message: str


@dataclass
class Report:
    entries: int = 0
    last_seq: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


@dataclass
class _Walk:
    """The state of the pass: the entry before, the failing entries, hashes at checkpoints."""

    want: set[int]
    report: Report = field(default_factory=Report)
    before: AuditEntry | None = None
    failing: list[AuditEntry] = field(default_factory=list)
    at_checkpoints: dict[int, str] = field(default_factory=dict)

    def see(self, entry: AuditEntry) -> None:
        report = self.report
        expected = (self.before.seq if self.before else 0) + 1
        gap = entry.seq > expected
        if gap:
            missing = f"seq {expected}" if entry.seq == expected + 1 else f"seq {expected}..{entry.seq - 1}"
            report.problems.append(Problem("deleted", expected, f"entry {missing} deleted: the chain jumps to seq {entry.seq}"))
        if hash_of(entry) != entry.hash:
            self.failing.append(entry)
        elif not gap and not self._before_failed():
            prev = self.before.hash if self.before else GENESIS
            if entry.prev_hash != prev:
                report.problems.append(
                    Problem(
                        "relinked",
                        entry.seq,
                        f"entry seq {entry.seq} does not follow seq {expected - 1}: that entry was replaced or re-hashed",
                    )
                )
        if entry.seq in self.want:
            self.at_checkpoints[entry.seq] = entry.hash
        report.entries += 1
        report.last_seq = entry.seq
        self.before = entry

    def _before_failed(self) -> bool:
        return bool(self.failing) and self.failing[-1] is self.before

    def diagnose(self) -> None:
        """A failing entry that hashes right at another failing entry's seq moved there."""
        positions = [entry.seq for entry in self.failing]
        for entry in self.failing:
            written = next((seq for seq in positions if seq != entry.seq and hash_of(entry, seq=seq) == entry.hash), None)
            if written is not None:
                message = f"entry stored as seq {entry.seq} was written as seq {written}: entries reordered"
                self.report.problems.append(Problem("reordered", entry.seq, message))
            else:
                self.report.problems.append(Problem("changed", entry.seq, f"entry seq {entry.seq} changed: its hash no longer matches"))


async def verify(
    session: AsyncSession, keys: dict[str, Ed25519PublicKey], extra: Sequence[tuple[AuditCheckpoint, Ed25519PublicKey]] = ()
) -> Report:
    """Walk the whole chain; ``extra`` are exported checkpoints (with their public keys) kept outside the database."""
    stored = list(await session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)))
    checkpoints = [(c, keys) for c in stored] + [(c, {c.key_id: keys.get(c.key_id, public)}) for c, public in extra]
    walk = _Walk(want={c.seq for c, _ in checkpoints})
    after = 0
    while True:
        page = list(await session.scalars(select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(PAGE)))
        for entry in page:
            walk.see(entry)
        if len(page) < PAGE:
            break
        after = page[-1].seq
    walk.diagnose()
    report = walk.report
    _check_head(report, await session.get(AuditHead, HEAD_ID), walk.before)
    for checkpoint, trusted in checkpoints:
        _check_checkpoint(report, checkpoint, trusted, walk.at_checkpoints)
    report.checkpoints = len(checkpoints)
    await _check_history(session, report)
    report.problems.sort(key=lambda problem: problem.seq)
    return report


async def _check_history(session: AsyncSession, report: Report) -> None:
    """Case history against its copies in the chain: a history row changed, deleted or
    added behind the triggers' back shows here (rows from before the chain existed have no copy)."""
    first: int | None = None
    after = 0
    while True:
        page = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.kind == CASE_HISTORY, AuditEntry.seq > after).order_by(AuditEntry.seq).limit(PAGE)
            )
        )
        copies = {int((entry.subject or "history:0").removeprefix("history:")): entry for entry in page}
        rows = {row.id: row for row in await session.scalars(select(HistoryRecord).where(HistoryRecord.id.in_(copies)))}
        for history_id, entry in copies.items():
            first = history_id if first is None else min(first, history_id)
            row = rows.get(history_id)
            if row is None:
                report.problems.append(Problem("history", entry.seq, f"history row {history_id} (chained at seq {entry.seq}) deleted"))
            elif history_detail(row) != entry.detail:
                report.problems.append(Problem("history", entry.seq, f"history row {history_id} (chained at seq {entry.seq}) changed"))
        if len(page) < PAGE:
            break
        after = page[-1].seq
    if first is None:
        return
    chained = exists().where(AuditEntry.subject == literal("history:").concat(cast(HistoryRecord.id, String)))
    for history_id in await session.scalars(select(HistoryRecord.id).where(HistoryRecord.id > first, ~chained).order_by(HistoryRecord.id)):
        report.problems.append(
            Problem(
                "history",
                report.last_seq,
                f"history row {history_id} has no copy in the chain: added behind its back, or its entry deleted",
            )
        )


def _check_head(report: Report, head: AuditHead | None, last: AuditEntry | None) -> None:
    last_seq, last_hash = (last.seq, last.hash) if last else (0, GENESIS)
    if head is None:
        report.problems.append(Problem("truncated", last_seq, "the chain's head row is missing"))
    elif head.seq > last_seq:
        report.problems.append(
            Problem("truncated", last_seq + 1, f"entries seq {last_seq + 1}..{head.seq} deleted: the head is at seq {head.seq}")
        )
    elif head.seq < last_seq:
        report.problems.append(Problem("truncated", head.seq + 1, f"entries after seq {head.seq} were not appended through the head"))
    elif head.hash != last_hash:
        report.problems.append(Problem("changed", last_seq, f"entry seq {last_seq} does not match the head's hash"))


def _check_checkpoint(report: Report, checkpoint: AuditCheckpoint, keys: dict[str, Ed25519PublicKey], hashes: dict[int, str]) -> None:
    valid = signature_valid(checkpoint, keys)
    where = f"checkpoint at seq {checkpoint.seq} ({checkpoint.at:%Y-%m-%d %H:%M:%S} UTC)"
    if valid is None:
        report.problems.append(Problem("checkpoint", checkpoint.seq, f"{where} is signed by unknown key {checkpoint.key_id}"))
    elif not valid:
        report.problems.append(Problem("checkpoint", checkpoint.seq, f"{where} has an invalid signature"))
    elif checkpoint.seq == 0:
        return
    elif checkpoint.seq not in hashes:
        report.problems.append(Problem("truncated", checkpoint.seq, f"{where}: entry seq {checkpoint.seq} is missing"))
    elif hashes[checkpoint.seq] != checkpoint.hash:
        report.problems.append(Problem("changed", checkpoint.seq, f"{where}: entries up to seq {checkpoint.seq} were rewritten since"))
