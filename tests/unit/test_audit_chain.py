"""The audit log is a hash chain: history and recorded events are appended in the
transaction that makes them, and the verifier names each kind of tampering. SQLite,
migrated, so its append-only triggers are in place; tampering drops them first, as
someone with the file (or a superuser) could."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.engine import create_engine, create_sessionmaker
from hub.db.migrate import upgrade
from hub.db.models import Case, HistoryRecord
from hub.features.audit import AuditEvent, record
from hub.features.audit.chain import DATA_READ, hash_of
from hub.features.audit.checkpoint import Checkpointer, exported, imported, signing_key, trusted_keys, write_checkpoint
from hub.features.audit.models import AuditEntry, AuditHead
from hub.features.audit.verify import Report, verify
from hub.features.privacy.settings import PrivacySettings

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def privacy(tmp_path: Path) -> PrivacySettings:
    return PrivacySettings(dev_key_dir=tmp_path / "keys")


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    yield create_sessionmaker(engine)
    await engine.dispose()


def new_case() -> Case:
    return Case(
        client_id="portal", request_hash="0" * 64, service="samsat.pkb_renewal", status="SUBMITTED", applicant={}, data={}, outputs={}
    )


async def write_entries(sessions: Sessions, count: int) -> uuid.UUID:
    """``count`` chained entries: a case's history rows and operator reads, alternating."""
    async with sessions.begin() as session:
        case = new_case()
        session.add(case)
        await session.flush()
        case_id = case.id
    for n in range(count):
        async with sessions.begin() as session:
            if n % 2:
                record(session, AuditEvent(kind=DATA_READ, actor="siti", case_id=case_id, subject=f"case:{case_id}"))
            else:
                session.add(HistoryRecord(case_id=case_id, from_status="SUBMITTED", to_status="SUBMITTED", note=f"round {n}"))
    return case_id


async def check(sessions: Sessions, privacy: PrivacySettings) -> Report:
    key = signing_key(privacy)
    async with sessions() as session:
        return await verify(session, trusted_keys(privacy, key))


async def tamper(sessions: Sessions, *statements: str) -> None:
    """What someone with the database file can do: drop the triggers, then change rows."""
    async with sessions.begin() as session:
        for table in ("audit_log", "audit_checkpoints", "history"):
            for operation in ("update", "delete"):
                await session.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{operation}"))
        for statement in statements:
            await session.execute(text(statement))


def kinds(report: Report) -> list[tuple[str, int]]:
    return [(problem.kind, problem.seq) for problem in report.problems]


async def test_history_rows_and_recorded_events_are_chained_in_their_transaction(sessions: Sessions, privacy: PrivacySettings) -> None:
    case_id = await write_entries(sessions, 6)
    async with sessions() as session:
        entries = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        head = await session.get(AuditHead, 1)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert [e.kind for e in entries[:2]] == ["case.history", "data.read"]
    assert all(e.case_id == case_id for e in entries)
    assert entries[0].detail["note"] == "round 0"
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert head is not None and (head.seq, head.hash) == (6, entries[-1].hash)
    report = await check(sessions, privacy)
    assert report.intact and report.entries == 6


async def test_a_rolled_back_transaction_leaves_no_entry(sessions: Sessions) -> None:
    case_id = await write_entries(sessions, 1)
    with pytest.raises(RuntimeError):
        async with sessions.begin() as session:
            record(session, AuditEvent(kind=DATA_READ, actor="siti", case_id=case_id))
            session.add(HistoryRecord(case_id=case_id, from_status="SUBMITTED", to_status="FAILED"))
            await session.flush()
            raise RuntimeError("the change fails")
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 1


async def test_the_chain_and_history_refuse_update_and_delete(sessions: Sessions) -> None:
    await write_entries(sessions, 2)
    for statement in (
        "UPDATE audit_log SET actor = 'someone else' WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 2",
        "UPDATE history SET note = 'nothing happened'",
        "DELETE FROM history",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            async with sessions.begin() as session:
                await session.execute(text(statement))


async def test_a_changed_entry_is_named(sessions: Sessions, privacy: PrivacySettings) -> None:
    await write_entries(sessions, 5)
    await tamper(sessions, "UPDATE audit_log SET actor = 'nobody' WHERE seq = 3")
    assert kinds(await check(sessions, privacy)) == [("changed", 3)]


async def test_a_deleted_entry_is_named(sessions: Sessions, privacy: PrivacySettings) -> None:
    await write_entries(sessions, 5)
    await tamper(sessions, "DELETE FROM audit_log WHERE seq = 2")
    report = await check(sessions, privacy)
    assert kinds(report) == [("deleted", 2)]
    assert "seq 2 deleted" in report.problems[0].message


async def test_deleted_last_entries_show_against_the_head(sessions: Sessions, privacy: PrivacySettings) -> None:
    await write_entries(sessions, 5)
    await tamper(sessions, "DELETE FROM audit_log WHERE seq >= 4")
    report = await check(sessions, privacy)
    assert kinds(report) == [("history", 3), ("truncated", 4)]  # seq 5 was history row 3's copy
    assert "4..5 deleted" in report.problems[1].message


async def test_reordered_entries_are_named(sessions: Sessions, privacy: PrivacySettings) -> None:
    await write_entries(sessions, 5)
    await tamper(
        sessions,
        "UPDATE audit_log SET seq = -1 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = -1",
    )
    report = await check(sessions, privacy)
    assert kinds(report) == [("reordered", 2), ("reordered", 3)]
    assert "stored as seq 2 was written as seq 3" in report.problems[0].message


async def test_a_replaced_and_rehashed_entry_breaks_the_next_link(sessions: Sessions, privacy: PrivacySettings) -> None:
    await write_entries(sessions, 4)
    async with sessions() as session:
        entry = await session.get(AuditEntry, 2)
        assert entry is not None
        entry.actor = "nobody"
        forged = hash_of(entry)
    await tamper(sessions, f"UPDATE audit_log SET actor = 'nobody', hash = '{forged}' WHERE seq = 2")
    assert kinds(await check(sessions, privacy)) == [("relinked", 3)]


async def test_a_rewritten_chain_is_caught_only_by_the_signed_checkpoint(sessions: Sessions, privacy: PrivacySettings) -> None:
    """Whoever can write the table can recompute every hash; the signature they cannot forge."""
    await write_entries(sessions, 4)
    assert await write_checkpoint(sessions, signing_key(privacy)) is not None
    assert await write_checkpoint(sessions, signing_key(privacy)) is None  # nothing new to sign
    async with sessions() as session:
        entries = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    statements, prev = [], entries[0].prev_hash
    for entry in entries:
        entry.prev_hash = prev
        entry.actor = "nobody"
        prev = hash_of(entry)
        statements.append(
            f"UPDATE audit_log SET actor = 'nobody', prev_hash = '{entry.prev_hash}', hash = '{prev}' WHERE seq = {entry.seq}"
        )
    await tamper(sessions, *statements, f"UPDATE audit_head SET hash = '{prev}'")
    report = await check(sessions, privacy)
    assert kinds(report) == [("changed", 4)]
    assert "rewritten since" in report.problems[0].message


async def test_a_forged_checkpoint_fails_its_signature_and_an_exported_one_still_guards(
    sessions: Sessions, privacy: PrivacySettings
) -> None:
    await write_entries(sessions, 3)
    key = signing_key(privacy)
    checkpoint = await write_checkpoint(sessions, key)
    assert checkpoint is not None
    document = exported(checkpoint, key)
    assert base64.b64decode(document["public_key"]) and document["development_key"] is True
    await tamper(
        sessions,
        "UPDATE audit_checkpoints SET seq = 2",
        "DELETE FROM audit_log WHERE seq = 3",
        "UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_log WHERE seq = 2)",
    )
    async with sessions() as session:
        report = await verify(session, trusted_keys(privacy, key), [imported(document)])
    assert kinds(report) == [("checkpoint", 2), ("history", 2), ("truncated", 3)]  # seq 3 was history row 2's copy
    assert "invalid signature" in report.problems[0].message
    assert "entry seq 3 is missing" in report.problems[2].message


async def test_an_unknown_signing_key_is_reported(sessions: Sessions, privacy: PrivacySettings, tmp_path: Path) -> None:
    await write_entries(sessions, 1)
    await write_checkpoint(sessions, signing_key(PrivacySettings(dev_key_dir=tmp_path / "other")))
    report = await check(sessions, privacy)
    assert kinds(report) == [("checkpoint", 1)]
    assert "unknown key" in report.problems[0].message


async def test_history_changed_deleted_or_added_behind_the_chain_is_named(sessions: Sessions, privacy: PrivacySettings) -> None:
    """The chain keeps a copy of every history row: changing the row itself shows too."""
    case_id = await write_entries(sessions, 6)  # history rows 1, 2, 3 at seq 1, 3, 5
    await tamper(
        sessions,
        "UPDATE history SET note = 'nothing happened' WHERE id = 1",
        "DELETE FROM history WHERE id = 2",
        f"INSERT INTO history (case_id, from_status, to_status, note, at) VALUES ('{case_id.hex}', 'SUBMITTED', 'COMPLETED', 'forged', '2026-12-03 00:00:00')",
    )
    report = await check(sessions, privacy)
    assert [p.message for p in report.problems] == [
        "history row 1 (chained at seq 1) changed",
        "history row 2 (chained at seq 3) deleted",
        "history row 4 has no copy in the chain: added behind its back, or its entry deleted",
    ]


async def test_the_checkpoint_round_signs_only_when_the_chain_moved(sessions: Sessions, privacy: PrivacySettings) -> None:
    checkpointer = Checkpointer(sessions, signing_key(privacy))
    await write_entries(sessions, 2)
    assert [await checkpointer.one_round(), await checkpointer.one_round()] == [1, 0]
    await write_entries(sessions, 1)
    assert await checkpointer.one_round() == 1
    report = await check(sessions, privacy)
    assert report.intact and report.checkpoints == 2
