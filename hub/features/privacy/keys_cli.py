"""`mpp-hub keys`: the master keys that wrap each case's data key (``MPP_DATABASE_URL``).

``rotate`` re-wraps every data key not yet under the current master key
(``MPP_PRIVACY__MASTER_KEY_ID``) with it; the sealed fields are not touched, so it is
quick and safe to repeat. Keep the old master key configured until it reports 0 left."""

from __future__ import annotations

import uuid

import typer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Case
from hub.features.audit import AuditEvent, record
from hub.features.cli_support import actor as cli_actor
from hub.features.cli_support import with_sessions
from hub.features.privacy.at_rest import keyring
from hub.features.privacy.crypto import SHREDDED, MasterKeys

keys_app = typer.Typer(help="Encryption at rest: the master keys wrapping each case's data key.", no_args_is_help=True)

KEYS_ROTATE = "keys.rotate"


async def rotate(sessions: async_sessionmaker[AsyncSession], keys: MasterKeys, *, actor: str, batch_size: int = 500) -> int:
    """Re-wrap, batch by batch, every data key under another master key; how many were."""
    done = 0
    while True:
        async with sessions.begin() as session:
            rows: list[tuple[uuid.UUID, str]] = list(
                await session.execute(
                    select(Case.id, Case.data_key)
                    .where(
                        Case.data_key.is_not(None),
                        Case.data_key != SHREDDED,  # no key left to re-wrap
                        ~Case.data_key.startswith(f"{keys.current}:", autoescape=True),
                    )
                    .limit(batch_size)
                    .with_for_update(skip_locked=True)
                )
            )
            for case_id, wrapped in rows:
                rewrapped = keys.wrap(keys.unwrap(wrapped, case_id), case_id)
                await session.execute(update(Case).where(Case.id == case_id).values(data_key=rewrapped))
            if rows:
                detail = {"cases": len(rows), "to": keys.current, "from": sorted({keys.key_id_of(w) for _, w in rows})}
                record(session, AuditEvent(kind=KEYS_ROTATE, actor=actor, subject="master_key", detail=detail))
        done += len(rows)
        if len(rows) < batch_size:
            return done


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-wrap every case's data key under the current master key, without touching the data."""
    keys, actor = keyring(), cli_actor()
    count = with_sessions(lambda sessions: rotate(sessions, keys, actor=actor))
    typer.echo(f"{count} data key(s) re-wrapped under master key {keys.current!r}")
