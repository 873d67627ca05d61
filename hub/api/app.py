"""FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.api import adapters as adapters_api
from hub.api import callbacks, events, requests, webhooks
from hub.api import catalogue as catalogue_api
from hub.api import operator as operator_api
from hub.api import principals as principals_api
from hub.api.errors import install_error_handlers, problem_responses
from hub.api.headers import SecurityHeaders
from hub.api.limits import BodySizeLimit, refuse_control_characters
from hub.api.ratelimit import limit_by_address
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
        # MPP_API__DOCS=false: no /docs, /redoc or /openapi.json (the API's map stays private).
        docs_url="/docs" if settings.api.docs else None,
        redoc_url="/redoc" if settings.api.docs else None,
        openapi_url="/openapi.json" if settings.api.docs else None,
        # Before any handler: the source address's rate limit, then no control characters in text.
        dependencies=[Depends(limit_by_address), Depends(refuse_control_characters)],
        # ... so any route may answer these (400: malformed JSON), each as a problem document.
        responses=problem_responses(400, 413, 422, 429),
    )
    install_error_handlers(app)
    app.add_middleware(RequestMetrics)
    app.router.routes.extend(OBSERVABILITY_ROUTES)  # /metrics, /livez, /readyz
    instrument_app(app)
    app.add_middleware(BodySizeLimit, max_body_bytes=settings.api.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.include_router(requests.router)
    app.include_router(catalogue_api.router)
    app.include_router(callbacks.router)
    app.include_router(webhooks.router)
    app.include_router(events.router)
    app.include_router(adapters_api.router)
    app.include_router(operator_api.router)
    mount_console(app, settings)
    app.include_router(principals_api.router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """Liveness, plus a round-trip to the database."""
        state: ApiState = app.state.hub
        async with state.sessions() as session:
            await session.execute(text("SELECT 1"))
        return {"status": "ok"}

    return app
