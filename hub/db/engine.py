"""Engines and sessions. Sessions are explicit (SQLAlchemy 2 style): every unit of
work opens one with ``async with sessions.begin()`` and commits or rolls back as a whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext import asyncio as sa_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str) -> AsyncEngine:
    """An engine tuned per backend: SQLite gets WAL and a busy timeout so the API,
    relay and router can share one file; PostgreSQL gets a modest pool. Statement
    parameters are citizens' data: errors never show them (``hide_parameters``).
    (``create_async_engine`` is looked up on its module at call time, so tracing's
    SQLAlchemy instrumentation, installed at start-up, sees every engine.)"""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa_asyncio.create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa_asyncio.create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, hide_parameters=True)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def database(url: str, sessions: async_sessionmaker[AsyncSession] | None = None) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The sessions of one OS process: ``sessions`` when the process already has them
    (``mpp-hub dev`` runs every role on one engine and one pool), else an engine of
    its own, disposed when the block ends."""
    if sessions is not None:
        yield sessions
        return
    engine = create_engine(url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()
