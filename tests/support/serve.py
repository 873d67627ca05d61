"""An ASGI app served on a free loopback port for the length of a block, so a test can
reach it over real HTTP (server-sent events, webhook receivers)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from deploy.kafka.local_kafka import free_ports


class _QuietServer(uvicorn.Server):
    """Leaves signal handling to the test run."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """``app`` on http://127.0.0.1:<free port> (its lifespan is the caller's business)."""
    port = free_ports(1)[0]
    server = _QuietServer(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
