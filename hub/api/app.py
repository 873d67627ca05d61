"""FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.api import adapters as adapters_api
from hub.api import callbacks, events, requests, webhooks
from hub.api import catalogue as catalogue_api
from hub.api import operator as operator_api
from hub.api import privacy as privacy_api
from hub.api.errors import install_error_handlers
from hub.api.state import ApiState
from hub.catalogue import Catalogue
from hub.config import Settings, load_catalogue
from hub.console import mount as mount_console
from hub.db.engine import database
from hub.domain.workflow import make_workflow
from hub.observability.health import ROUTES as OBSERVABILITY_ROUTES
from hub.observability.health import RequestMetrics, database_check
from hub.observability.tracing import instrument_app
from messaging.probes import PROBES


def create_app(settings: Settings, catalogue: Catalogue | None = None, sessions: async_sessionmaker[AsyncSession] | None = None) -> FastAPI:
    """The API; ``sessions`` shares the process's database engine (else it opens its own)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with database(settings.database_url, sessions) as own:
            loaded = catalogue or load_catalogue(settings)
            app.state.hub = ApiState(settings=settings, sessions=own, catalogue=loaded, workflow=make_workflow(settings.sla, loaded))
            with PROBES.check("database", database_check(own)):
                yield

    app = FastAPI(
        title="mpp-hub",
        version="0.1.0",
        summary="One counter, many agencies: submit and follow Mal Pelayanan Publik requests.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(RequestMetrics)
    app.router.routes.extend(OBSERVABILITY_ROUTES)  # /metrics, /livez, /readyz
    instrument_app(app)
    app.include_router(requests.router)
    app.include_router(catalogue_api.router)
    app.include_router(callbacks.router)
    app.include_router(webhooks.router)
    app.include_router(events.router)
    app.include_router(adapters_api.router)
    app.include_router(operator_api.router)
    app.include_router(privacy_api.router)
    mount_console(app, settings)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """Liveness, plus a round-trip to the database."""
        state: ApiState = app.state.hub
        async with state.sessions() as session:
            await session.execute(text("SELECT 1"))
        return {"status": "ok"}

    return app
