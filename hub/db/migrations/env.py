"""Alembic environment: async engines for both PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import hub.features.adapter_status
import hub.features.deadletters.models
import hub.features.notifications.models
import hub.features.principals.models  # noqa: F401
from hub.db.engine import create_engine
from hub.db.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_run_async())
    else:  # called from inside a running loop (e.g. a test): run in a fresh thread's loop
        import threading

        errors: list[BaseException] = []

        def _target() -> None:
            try:
                asyncio.run(_run_async())
            except BaseException as exc:  # noqa: BLE001 - re-raised below in the caller's thread
                errors.append(exc)

        thread = threading.Thread(target=_target)
        thread.start()
        thread.join()
        if errors:
            raise errors[0]
