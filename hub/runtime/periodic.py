"""Background rounds that run until the process stops: the poller, the SLA scanner,
the relay's idle wait and the webhook dispatcher's pauses.

A failed round is logged with its traceback and the next one comes after the usual
pause: a database blip must not end a background task, and must not be silent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds``, or less if the process is told to stop meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def run_rounds(
    name: str, one_round: Callable[[], Awaitable[int]], stop: asyncio.Event, *, interval_seconds: float, backlog: int | None = None
) -> None:
    """Run ``one_round`` every ``interval_seconds`` until ``stop``; a round that handled
    ``backlog`` items or more (a full batch) is followed at once by the next."""
    while not stop.is_set():
        handled = 0
        try:
            handled = await one_round()
        except Exception:
            log.exception("%s: round failed; trying again", name)
        if backlog is not None and handled >= backlog:
            continue
        await pause(stop, interval_seconds)
