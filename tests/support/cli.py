"""Running an `mpp-hub` command group in a test, against a test database."""

from __future__ import annotations

import asyncio

import typer
from click.testing import Result
from typer.testing import CliRunner

from hub.config import get_settings


async def invoke(app: typer.Typer, env: dict[str, str], *args: str) -> Result:
    """``app`` with ``args`` and the environment ``env`` (in a thread: the command runs its own event loop)."""
    get_settings.cache_clear()
    try:
        return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)
    finally:
        get_settings.cache_clear()
