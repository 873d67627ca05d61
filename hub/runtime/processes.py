"""Each hub process as an async function that runs until ``stop`` is set.

The CLI runs one of them per OS process in production, and all of them in one event
loop for `mpp-hub dev` and the benchmark. Agencies' adapters and simulators come from
their plug-ins (one ``mpp_hub.agencies`` entry point each).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any

import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.discovery import load_agency
from adapters.sdk.settings import BackendSettings
from hub.api.app import create_app
from hub.catalogue import Catalogue
from hub.config import Settings, load_catalogue
from hub.db.engine import database
from hub.domain.sla import calendar_from_settings
from hub.domain.workflow import make_workflow
from hub.features.adapter_status import run_status_tracker
from hub.features.audit.checkpoint import Checkpointer, signing_key
from hub.features.deadletters import run_archiver
from hub.features.notifications.dispatcher import WebhookDispatcher
from hub.features.privacy.retention import Purger
from hub.observability.health import ROUTES as OBSERVABILITY_ROUTES
from hub.observability.health import database_check
from hub.observability.sampler import Sampler
from hub.runtime.periodic import run_rounds
from hub.runtime.poller import Poller
from hub.runtime.relay import OutboxRelay
from hub.runtime.router import run_router
from hub.runtime.sla_scanner import SlaScanner
from messaging import Topology, create_producer, started
from messaging.probes import PROBES, kafka_check
from messaging.topology import prepare

log = logging.getLogger(__name__)

Sessions = async_sessionmaker[AsyncSession]


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to our own stop event, so several
    servers can share one event loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_asgi(app: Any, host: str, port: int, stop: asyncio.Event) -> None:
    # log_config=None: uvicorn's loggers go through the process's own (redacting) handlers.
    server = _QuietServer(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on", log_config=None))
    task = asyncio.create_task(server.serve())
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    stopper.cancel()
    await task


async def observed(settings: Settings, stop: asyncio.Event, main: Coroutine[Any, Any, None]) -> None:
    """``main``, with ``/metrics``, ``/livez`` and ``/readyz`` served on ``settings.metrics_port``
    (when set) for as long as it runs; a port that cannot be served stops ``main``."""
    if settings.metrics_port is None:
        await main
        return
    log.info("metrics on http://%s:%d/metrics", settings.api.host, settings.metrics_port)
    server_stop = asyncio.Event()
    server = asyncio.create_task(serve_asgi(Starlette(routes=OBSERVABILITY_ROUTES), settings.api.host, settings.metrics_port, server_stop))
    running = asyncio.ensure_future(main)
    try:
        done, _ = await asyncio.wait({running, server}, return_when=asyncio.FIRST_COMPLETED)
        if server in done:
            stop.set()
        await running
    finally:
        server_stop.set()
        await server


async def prepare_topics(settings: Settings, catalogue: Catalogue) -> None:
    """The hub's topics as the topology declares them: the fixed ones and each provider's commands."""
    await prepare(settings.kafka, Topology(settings.kafka).hub(catalogue.providers()))


async def run_api(settings: Settings, stop: asyncio.Event, *, sessions: Sessions | None = None) -> None:
    log.info("API on http://%s:%d (docs at /docs)", settings.api.host, settings.api.port)
    await serve_asgi(create_app(settings, sessions=sessions), settings.api.host, settings.api.port, stop)


async def run_relay(settings: Settings, stop: asyncio.Event, *, sessions: Sessions | None = None) -> None:
    """The outbox relay and the webhook dispatcher: both deliver what the DB decided."""
    async with database(settings.database_url, sessions) as own, started(create_producer(settings.kafka)) as producer:
        relay = OutboxRelay(own, producer, batch_size=settings.relay.batch_size, poll_seconds=settings.relay.poll_seconds)
        with PROBES.check("database", database_check(own)), PROBES.check("kafka", kafka_check(settings.kafka)):
            await asyncio.gather(relay.run(stop), WebhookDispatcher(own, settings.webhooks).run(stop))


async def run_router_process(settings: Settings, stop: asyncio.Event, *, sessions: Sessions | None = None) -> None:
    """The router, the poller, the SLA scanner, the adapter-status tracker, the dead-letter archive,
    the audit checkpoints and the retention purge."""
    catalogue = load_catalogue(settings)
    await prepare_topics(settings, catalogue)
    async with database(settings.database_url, sessions) as own, _router_probes(settings, own):
        await asyncio.gather(
            run_router(own, make_workflow(settings.sla, catalogue), settings.kafka, stop),
            Poller(own).run(stop),
            SlaScanner(own, calendar_from_settings(settings.sla)).run(stop, interval_seconds=settings.sla.scan_seconds),
            run_status_tracker(settings, own, stop),
            run_archiver(settings, own, stop),
            run_rounds(
                "audit-checkpoint",
                Checkpointer(own, signing_key(settings.privacy)).one_round,
                stop,
                interval_seconds=settings.privacy.checkpoint_seconds,
            ),
            run_rounds(
                "retention-purge",
                Purger(own, settings.privacy.retention, catalogue=catalogue).one_round,
                stop,
                interval_seconds=settings.privacy.retention.purge_seconds,
            ),
        )


@contextlib.asynccontextmanager
async def _router_probes(settings: Settings, sessions: Sessions) -> AsyncIterator[None]:
    """Readiness: database and Kafka. Scrapes sample the outbox, steps, webhooks and lag."""
    levels = {agency: len(backend.retry_topic_delays_seconds) for agency, backend in settings.agencies.items()}
    sampler = Sampler(sessions, settings.kafka, levels)
    with (
        PROBES.check("database", database_check(sessions)),
        PROBES.check("kafka", kafka_check(settings.kafka)),
        PROBES.refresher("database-gauges", sampler.database),
        PROBES.refresher("consumer-lag", sampler.lag),
    ):
        yield


def backend_settings(settings: Settings, agency: str) -> BackendSettings:
    if agency not in settings.agencies:
        raise KeyError(f"agency {agency!r} is not connected: install its plug-in (and list it in MPP_ENABLED_AGENCIES, when that is set)")
    return settings.agencies[agency]


async def run_adapter(settings: Settings, agency: str, stop: asyncio.Event) -> None:
    await load_agency(agency).run_worker(backend_settings(settings, agency), settings.kafka, stop)


def simulator_options(settings: Settings, agency: str, ledger_path: str = ":memory:") -> SimulatorOptions:
    """The simulator started with the secrets its adapter is configured with (dev defaults or not)."""
    plugin = load_agency(agency)
    if agency not in settings.agencies:
        return SimulatorOptions(ledger_path=ledger_path)
    return plugin.simulator_options(settings.agencies[agency], ledger_path)


async def run_simulator(agency: str, host: str, port: int, stop: asyncio.Event, options: SimulatorOptions | None = None) -> None:
    app = load_agency(agency).simulator(options or SimulatorOptions())
    log.info("%s simulator on http://%s:%d", agency, host, port)
    await serve_asgi(app, host, port, stop)


async def run_all(settings: Settings, stop: asyncio.Event, *, with_simulators: bool = True) -> None:
    """Everything in one event loop, with every connected agency: the quick local run and the benchmark."""
    catalogue = load_catalogue(settings)
    await prepare_topics(settings, catalogue)
    async with database(settings.database_url) as sessions:  # one engine and pool for the whole process
        await _run_together(settings, stop, sessions, with_simulators=with_simulators)


async def _run_together(settings: Settings, stop: asyncio.Event, sessions: Sessions, *, with_simulators: bool) -> None:
    agencies = sorted(settings.agencies)
    tasks = [
        asyncio.create_task(run_api(settings, stop, sessions=sessions), name="api"),
        asyncio.create_task(run_relay(settings, stop, sessions=sessions), name="relay"),
        asyncio.create_task(run_router_process(settings, stop, sessions=sessions), name="router"),
        *(asyncio.create_task(run_adapter(settings, a, stop), name=f"adapter:{a}") for a in agencies),
    ]
    if with_simulators:
        tasks += [
            asyncio.create_task(
                run_simulator(a, "127.0.0.1", settings.simulator_ports[a], stop, simulator_options(settings, a)), name=f"simulator:{a}"
            )
            for a in agencies
        ]
    # One component dying must not leave a half-running hub: stop the rest and re-raise.
    await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    stop.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for task, result in zip(tasks, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            log.error("%s stopped with %r", task.get_name(), result)
            raise result
