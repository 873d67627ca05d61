"""``/metrics``, ``/livez`` and ``/readyz``: the same three endpoints on the API and on
every other process's metrics port.

``/livez`` asks nothing (a process that answers is alive: restarting it would not help
a database outage). ``/readyz`` asks what the process's roles registered in
:data:`~messaging.probes.PROBES`: 200 when all are ready, 503 naming the ones that are
not, as Kubernetes probes expect. ``/metrics`` first lets the refreshers sample their
gauges, then serves the process's registry.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api.asgi import HttpMiddleware
from hub.observability import metrics as m
from messaging.probes import PROBES, Check


async def livez(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(_request: Request) -> Response:
    readiness = await PROBES.readiness()
    status = "ok" if readiness.ready else "unavailable" if readiness.checks else "starting"
    body = {"status": status, "checks": readiness.checks}
    return JSONResponse(body, status_code=200 if readiness.ready else 503)


async def scrape(_request: Request) -> Response:
    await PROBES.refresh()
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


ROUTES = [
    Route("/metrics", scrape, methods=["GET"], include_in_schema=False),
    Route("/livez", livez, methods=["GET"], include_in_schema=False),
    Route("/readyz", readyz, methods=["GET"], include_in_schema=False),
]


def database_check(sessions: async_sessionmaker[AsyncSession]) -> Check:
    async def check() -> str | None:
        try:
            async with sessions() as session:
                await session.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:  # the probe's answer, not swallowed
            return f"database unreachable: {type(exc).__name__}"
        return None

    return check


class RequestMetrics(HttpMiddleware):
    """Counts API requests by route *template* (``/v1/requests/{case_id}``, never the id
    itself); a path no route matched is counted as ``unmatched``."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = [500]

        async def tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        finally:
            route = _template(scope)
            m.API_REQUESTS.labels(route, scope["method"], str(status[0])).inc()
            m.API_DURATION.labels(route, scope["method"]).observe(time.perf_counter() - started)


def _template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


Middleware = Callable[[ASGIApp], Awaitable[None]]
