"""What the operators' terminal commands (`mpp-hub dlq`, `mpp-hub principals`) share:
who is acting, for the audit trails, and one database engine per command."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.config import get_settings
from hub.db.engine import create_engine, create_sessionmaker

T = TypeVar("T")


def actor() -> str:
    """``cli:<user>``, the actor written to audit trails."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in some containers
        return "cli"


def with_sessions(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    """Run ``work`` on sessions of ``MPP_DATABASE_URL``, disposing the engine afterwards."""

    async def main() -> T:
        engine = create_engine(get_settings().database_url)
        try:
            return await work(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())
