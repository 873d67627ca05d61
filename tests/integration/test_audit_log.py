"""The audit chain on PostgreSQL: the hub's role cannot change or delete entries,
concurrent writers (separate connection pools, as separate processes have) keep one
unbroken chain, and `mpp-hub audit verify` names what someone who bypasses the
triggers (the tables' owner disabling them) changed, deleted or reordered."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.engine import create_engine, create_sessionmaker
from hub.db.models import Case, HistoryRecord
from hub.features.audit import AuditEvent, record
from hub.features.audit.chain import OPERATOR_ACTION
from hub.features.audit.checkpoint import signing_key, write_checkpoint
from hub.features.audit.cli import audit_app
from hub.features.audit.models import AuditEntry
from hub.features.privacy.settings import PrivacySettings
from support.cli import invoke

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def new_case(sessions: Sessions) -> uuid.UUID:
    async with sessions.begin() as session:
        case = Case(
            id=uuid.uuid4(),
            client_id="portal",
            request_hash="0" * 64,
            service="samsat.pkb_renewal",
            status="SUBMITTED",
            applicant={},
            data={},
        )
        session.add(case)
        session.add(HistoryRecord(case_id=case.id, from_status=None, to_status="SUBMITTED", note="client portal"))
    return case.id


async def one_change(sessions: Sessions, case_id: uuid.UUID, n: int) -> None:
    """A transaction like the router's: a history row and an operator action, chained at commit."""
    async with sessions.begin() as session:
        session.add(HistoryRecord(case_id=case_id, from_status="SUBMITTED", to_status="SUBMITTED", note=f"change {n}"))
        await asyncio.sleep(0.001)  # let the other writers interleave inside the transaction
        record(session, AuditEvent(kind=OPERATOR_ACTION, actor=f"writer-{n % 2}", case_id=case_id, detail={"n": n}))


async def audit_cli(database_url: str, keys: Path, *args: str) -> Any:
    return await invoke(audit_app, {"MPP_DATABASE_URL": database_url, "MPP_PRIVACY__DEV_KEY_DIR": str(keys)}, *args)


async def as_owner_bypassing_triggers(sessions: Sessions, *statements: str) -> None:
    """What a privileged attacker can do: switch the triggers off, change rows, switch them on."""
    async with sessions.begin() as session:
        for table in ("audit_log", "history"):
            await session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        for statement in statements:
            await session.execute(text(statement))
        for table in ("audit_log", "history"):
            await session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'nobody'",
        "DELETE FROM audit_log WHERE seq = 1",
        "TRUNCATE audit_log",
        "UPDATE history SET note = 'nothing happened'",
        "DELETE FROM history",
        "DELETE FROM audit_checkpoints",
    ],
)
async def test_the_hubs_role_cannot_change_or_delete_audit_rows(sessions: Sessions, statement: str, tmp_path: Path) -> None:
    await new_case(sessions)
    assert await write_checkpoint(sessions, signing_key(PrivacySettings(dev_key_dir=tmp_path))) is not None
    with pytest.raises(DBAPIError, match="append-only"):
        async with sessions.begin() as session:
            await session.execute(text(statement))


async def test_two_concurrent_writers_keep_one_unbroken_chain(database_url: str, sessions: Sessions, tmp_path: Path) -> None:
    case_id = await new_case(sessions)
    other_engine = create_engine(database_url)
    other = create_sessionmaker(other_engine)
    open_transactions = {id(sessions): asyncio.Semaphore(4), id(other): asyncio.Semaphore(4)}  # spare the shared server's connections

    async def writer(pool: Sessions, n: int) -> None:
        async with open_transactions[id(pool)]:
            await one_change(pool, case_id, n)

    try:
        await asyncio.gather(*(writer(sessions if n % 2 else other, n) for n in range(60)))
    finally:
        await other_engine.dispose()
    async with sessions() as session:
        seqs = list(await session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
    assert seqs == list(range(1, 1 + 1 + 60 * 2))  # the submission, then a history row and an action per change
    result = await audit_cli(database_url, tmp_path, "verify")
    assert result.exit_code == 0, result.output
    assert "121 entries up to seq 121, 0 checkpoints: intact" in result.output


async def test_verify_names_a_changed_a_deleted_and_a_reordered_entry(database_url: str, sessions: Sessions, tmp_path: Path) -> None:
    case_id = await new_case(sessions)
    for n in range(5):
        await one_change(sessions, case_id, n)  # seq 1..11
    exported = await audit_cli(database_url, tmp_path, "export-checkpoint", "--output", str(tmp_path / "checkpoint.json"))
    assert exported.exit_code == 0, exported.output
    assert json.loads((tmp_path / "checkpoint.json").read_text())["seq"] == 11

    await as_owner_bypassing_triggers(
        sessions,
        'UPDATE audit_log SET detail = \'{"note": "nothing happened"}\' WHERE seq = 3',
        "DELETE FROM audit_log WHERE seq = 6",
        "UPDATE audit_log SET seq = -1 WHERE seq = 8",
        "UPDATE audit_log SET seq = 8 WHERE seq = 9",
        "UPDATE audit_log SET seq = 9 WHERE seq = -1",
        "UPDATE history SET note = 'nothing happened' WHERE note = 'change 4'",
    )
    result = await audit_cli(database_url, tmp_path, "verify", "--checkpoint", str(tmp_path / "checkpoint.json"))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    # Each transaction chains its recorded action, then its history row: change n is seq 2n+2 and 2n+3.
    assert lines[:-1] == [
        "CHANGED    seq 3: entry seq 3 changed: its hash no longer matches",
        "HISTORY    seq 3: history row 2 (chained at seq 3) changed",  # the copy no longer matches the row
        "DELETED    seq 6: entry seq 6 deleted: the chain jumps to seq 7",
        "REORDERED  seq 8: entry stored as seq 8 was written as seq 9: entries reordered",
        "REORDERED  seq 9: entry stored as seq 9 was written as seq 8: entries reordered",
        "HISTORY    seq 11: history row 6 (chained at seq 11) changed",
    ]
    assert "TAMPERED" in lines[-1]
