"""`mpp-hub bench`: how fast is the whole path, and how far is it from raw Kafka?

Two measurements in one run, on the same broker:

* **Hub path.** Migrations on a fresh database, then the whole hub in this event loop
  (:func:`hub.runtime.processes.run_all`: API, outbox relay, router, Samsat adapter and the
  Samsat simulator) on free ports. After a short warm-up, ``N`` ``POST /v1/requests``
  are sent by ``C`` concurrent submitters (at most ``C`` POSTs in flight). A case's
  latency runs from the moment its POST is sent to the first poll of the ``cases``
  table that sees it COMPLETED; the poll runs on a fixed 20 ms cadence (and asks only
  for recently stamped terminal cases, so it stays cheap however many are in flight),
  so hub latencies are upper bounds, late by 0..20 ms (10 ms on average).
* **Raw Kafka baseline.** The same number of Kafka hops as one hub case (the hub does
  3: ``mpp.requests`` -> router, ``mpp.commands.samsat`` -> adapter, ``mpp.events`` ->
  router) with nothing else: a source writes ``N`` messages to bench topic 1 with ``C``
  sends in flight, stage 1 forwards 1 -> 2, stage 2 forwards 2 -> 3, and a sink reads
  topic 3 and takes the latency from the send timestamp carried in the message.
  Producers and consumers are the hub's own (:func:`messaging.create_producer`:
  idempotent, ``acks=all``; :func:`~messaging.create_consumer`: manual commits, each
  partition's offset committed after its forwards are acked), and the topics are laid
  out like the hub's (:mod:`messaging.topology`). Stages process partitions in
  parallel like the hub's consume loop but pipeline the sends of one batch, as a plain
  Kafka relay would. The baseline runs after the hub has
  stopped, on the then-warm broker, with its own warm-up; its topics are deleted after.

Throughput is ``completed / (first send -> last completion)``. Nothing here asserts a
timing: the numbers are reported, with a per-stage split of each hub case taken from
timestamps the system writes anyway (history rows, outbox ``sent_at``, the router's
inbox ``processed_at``, the simulated Samsat's ledger), and the CPU the Python process
and (when the bench started it) the broker used during each measured window. The
whole hub shares one event loop here, so these are the numbers of the `mpp-hub dev`
shape, not of one OS process per component.

Without ``--bootstrap``, the configured broker is used when it answers; otherwise a
throwaway :class:`~deploy.kafka.local_kafka.LocalKafka` is started in a temporary directory on
free ports and stopped at the end. The hub path uses the hub's fixed topic and
consumer-group names, so the bench waits for those groups to be idle and refuses to
run next to another hub consuming on the same broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import os
import platform
import random
import signal
import socket
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiokafka
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError, KafkaError
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sdk.runtime.worker import report_message_id
from deploy.kafka.local_kafka import LocalKafka, LocalKafkaConfig, free_ports
from hub.config import ApiSettings, Settings, get_settings
from hub.db.engine import create_engine
from hub.db.migrate import upgrade
from hub.db.models import Case, HistoryRecord, OutboxMessage, ProcessedMessage, Step
from hub.observability.tracing import configure_tracing
from hub.runtime.processes import run_all
from hub.runtime.router import CONSUMER as ROUTER_CONSUMER
from hub.runtime.router import GROUP_ID as ROUTER_GROUP
from messaging import KafkaSettings, TopicSpec, create_consumer, create_producer
from messaging.topology import Cleanup, prepare
from schemas import topics
from schemas.identifiers import make_nik, make_plate
from schemas.lifecycle import TERMINAL, Status

log = logging.getLogger(__name__)

SERVICE = "samsat.pkb_annual"
AGENCY = "samsat"
API_KEY = "dev-portal-key"
KAFKA_HOPS = 3
#: The simulated Samsat register holds plate serials 1..9000; NIKs ending in 99 are
#: not the registered owner (see adapters/samsat/simulator.py).
MAX_REGISTERED_SERIAL = 9000
POLL_INTERVAL_S = 0.020
#: A poll asks for cases whose terminal state was stamped (``updated_at``, set just
#: before the commit) in the last WATERMARK_SLACK_S; once a second a sweep by id
#: catches any case whose commit lagged its stamp by more (counted, normally 0).
WATERMARK_SLACK_S = 2.0
SWEEP_EVERY_S = 1.0
PAYLOAD_BYTES = 600  # roughly a request.submitted envelope, so the baseline moves similar bytes
_TERMINAL_VALUES = sorted(s.value for s in TERMINAL)
_CHUNK = 500  # ids per IN (...) query
_QUIET_LOGGERS = ("hub", "adapters", "schemas", "uvicorn", "uvicorn.error", "uvicorn.access", "aiokafka", "httpx", "httpcore", "alembic")


class BenchError(RuntimeError):
    """The bench could not run (broker, database or hub trouble), as opposed to slow numbers."""


# --------------------------------------------------------------------------- results


@dataclass
class PathStats:
    """Throughput and latency of one path; latencies in milliseconds."""

    count: int
    elapsed_s: float
    throughput_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @classmethod
    def of(cls, latencies_s: Sequence[float], elapsed_s: float) -> PathStats:
        ms = sorted(x * 1000 for x in latencies_s)
        if not ms:
            return cls(0, elapsed_s, 0.0, *([float("nan")] * 5))
        return cls(
            count=len(ms),
            elapsed_s=elapsed_s,
            throughput_per_s=len(ms) / elapsed_s if elapsed_s > 0 else float("inf"),
            p50_ms=percentile(ms, 50),
            p95_ms=percentile(ms, 95),
            p99_ms=percentile(ms, 99),
            mean_ms=sum(ms) / len(ms),
            max_ms=ms[-1],
        )


@dataclass
class CaseCounts:
    submitted: int = 0
    completed: int = 0
    rejected: int = 0
    failed: int = 0
    other_terminal: int = 0
    unfinished: int = 0
    submit_errors: int = 0

    @property
    def all_completed(self) -> bool:
        return self.submitted > 0 and self.completed == self.submitted and self.submit_errors == 0


@dataclass
class Stage:
    """One segment of a hub case, between two recorded timestamps (one machine's clock)."""

    name: str
    p50_ms: float
    p95_ms: float


@dataclass
class BenchResult:
    requests: int
    concurrency: int
    warmup: int
    db_backend: str
    database: str
    kafka_bootstrap: str
    kafka_started_by_bench: bool
    python: str
    aiokafka: str
    cpus: int | None
    hub: PathStats
    baseline: PathStats
    cases: CaseCounts
    poll_interval_ms: float
    mean_poll_period_ms: float
    found_by_sweep: int
    stages: list[Stage] = field(default_factory=list)
    cpu: dict[str, float | None] = field(default_factory=dict)
    hub_settings: dict[str, Any] = field(default_factory=dict)

    @property
    def latency_ratios(self) -> dict[str, float]:
        """Hub ÷ baseline: how many times slower the hub path is per case."""
        return {k: _ratio(getattr(self.hub, k), getattr(self.baseline, k)) for k in ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "max_ms")}

    @property
    def throughput_ratio(self) -> float:
        """Baseline ÷ hub: how many times more requests per second raw Kafka carries."""
        return _ratio(self.baseline.throughput_per_s, self.hub.throughput_per_s)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratios"] = {
            "throughput_baseline_over_hub": self.throughput_ratio,
            **{f"{k}_hub_over_baseline": v for k, v in self.latency_ratios.items()},
        }
        data["all_completed"] = self.cases.all_completed
        safe: dict[str, Any] = _json_safe(data)
        return safe


def _json_safe(value: Any) -> Any:
    """NaN (a segment with no data, a ratio over zero) is not JSON: null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


# --------------------------------------------------------------------------- entry points


async def run_bench(
    *,
    requests: int = 300,
    concurrency: int = 20,
    database_url: str | None = None,
    bootstrap: str | None = None,
    warmup: int = 10,
    seed: int = 0,
    completion_timeout: float = 300.0,
    workdir: Path | None = None,
) -> BenchResult:
    """Run both measurements and return the numbers (never judges them).

    ``database_url``: ``None`` for a fresh SQLite file in a temporary directory, or an
    empty database (e.g. PostgreSQL). ``bootstrap``: ``None`` for the configured
    broker, or a throwaway local broker when nothing answers there.
    """
    if requests < 1 or concurrency < 1:
        raise ValueError("requests and concurrency must be at least 1")
    with contextlib.ExitStack() as stack:
        tmp = (
            Path(workdir)
            if workdir
            else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mpp-bench-", ignore_cleanup_errors=True)))
        )
        stack.enter_context(_quiet_logs())
        database_url = database_url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        await asyncio.to_thread(upgrade, database_url)
        await _require_empty(database_url)
        async with _broker(bootstrap, tmp / "kafka") as (kafka_bootstrap, broker):
            await _wait_groups_idle(kafka_bootstrap, [ROUTER_GROUP, f"mpp-adapter-{AGENCY}"], check_members=broker is None)
            settings = _hub_settings(database_url, kafka_bootstrap)

            probe = _CpuProbe(broker)
            hub = await _hub_phase(
                settings, probe, requests=requests, concurrency=concurrency, warmup=warmup, seed=seed, timeout=completion_timeout
            )
            baseline_stats, baseline_cpu = await _baseline_phase(
                kafka_bootstrap, probe, requests=requests, concurrency=concurrency, warmup=warmup, timeout=completion_timeout
            )

        url = make_url(database_url)
        return BenchResult(
            requests=requests,
            concurrency=concurrency,
            warmup=warmup,
            db_backend=url.get_backend_name(),
            database=url.render_as_string(hide_password=True),
            kafka_bootstrap=kafka_bootstrap,
            kafka_started_by_bench=broker is not None,
            python=f"{platform.python_implementation()} {platform.python_version()}",
            aiokafka=aiokafka.__version__,
            cpus=os.cpu_count(),
            hub=hub.stats,
            baseline=baseline_stats,
            cases=hub.counts,
            poll_interval_ms=POLL_INTERVAL_S * 1000,
            mean_poll_period_ms=hub.mean_poll_period_s * 1000,
            found_by_sweep=hub.found_by_sweep,
            stages=hub.stages,
            cpu={**{f"hub_{k}": v for k, v in hub.cpu.items()}, **{f"baseline_{k}": v for k, v in baseline_cpu.items()}},
            hub_settings={
                "topic_partitions": settings.kafka.partitions,
                "relay_poll_seconds": settings.relay.poll_seconds,
                "relay_batch_size": settings.relay.batch_size,
                "consumer_batch_size": settings.kafka.consumer_batch_size,
            },
        )
    raise AssertionError("unreachable")


def main(*, requests: int, concurrency: int, database_url: str | None, bootstrap: str | None, json_path: Path | None) -> int:
    """The `mpp-hub bench` command: run, print the table, optionally write JSON.

    Exit status 0 when every case completed, 1 otherwise (never because of speed)."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s bench %(levelname)s %(name)s: %(message)s")
    tracing = configure_tracing("bench")  # as every process: on when the OTEL_* environment asks
    print(f"mpp-hub bench: {requests} requests, concurrency {concurrency}, tracing {'on' if tracing else 'off'} ...", flush=True)

    async def interruptible() -> BenchResult:
        # SIGINT/SIGTERM cancel the run, so its cleanup stops the hub and any broker it started.
        task, loop = asyncio.current_task(), asyncio.get_running_loop()
        assert task is not None
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        return await run_bench(requests=requests, concurrency=concurrency, database_url=database_url, bootstrap=bootstrap)

    try:
        result = asyncio.run(interruptible())
    except BenchError as exc:
        print(f"bench failed: {exc}")
        return 2
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("bench interrupted; what it started has been stopped")
        return 130
    finally:
        if tracing is not None:
            tracing.shutdown()
    print(format_result(result))
    if json_path is not None:
        json_path.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        print(f"results written to {json_path}")
    return 0 if result.cases.all_completed else 1


# --------------------------------------------------------------------------- broker and database


@contextlib.asynccontextmanager
async def _broker(bootstrap: str | None, home: Path) -> AsyncIterator[tuple[str, LocalKafka | None]]:
    """The broker to use, starting a throwaway one when none is configured and answering."""
    if bootstrap:
        if not _answers(bootstrap):
            raise BenchError(f"no Kafka broker answers at {bootstrap}")
        yield bootstrap, None
        return
    configured = get_settings().kafka.bootstrap
    if _answers(configured):
        yield configured, None
        return
    port, controller_port = free_ports(2)
    broker = LocalKafka(LocalKafkaConfig(home=home, port=port, controller_port=controller_port))
    print(f"no broker at {configured}: starting a throwaway one on 127.0.0.1:{port} ...", flush=True)
    starting = asyncio.create_task(asyncio.to_thread(broker.start))
    try:
        await asyncio.shield(starting)
    except asyncio.CancelledError:
        await asyncio.wait({starting})  # the JVM comes up in a thread: let it, then stop it
        await asyncio.to_thread(broker.stop)
        raise
    except Exception as exc:
        raise BenchError(f"could not start a local Kafka broker: {exc}") from exc
    try:
        yield broker.bootstrap, broker
    finally:
        await asyncio.to_thread(broker.stop)


def _answers(bootstrap: str) -> bool:
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=1.0):
                return True
        except (OSError, ValueError):
            continue
    return False


async def _require_empty(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            n = (await conn.execute(select(func.count()).select_from(Case))).scalar_one()
    finally:
        await engine.dispose()
    if n:
        raise BenchError(f"the database already holds {n} cases; the bench needs an empty one")


async def _wait_groups_idle(bootstrap: str, groups: list[str], *, check_members: bool = True, timeout: float = 30.0) -> None:
    """Make the group coordinator ready before the hub starts (on a fresh broker the
    offsets topic is created on first use, and consumers log errors until it is).

    With ``check_members``: the hub path joins the hub's own consumer groups, so
    another live hub on this broker would take partitions (and our messages) away.
    Wait for stale members of a stopped hub to time out; refuse if the groups stay busy.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                for group in groups:
                    await admin.find_coordinator(group)
            except GroupCoordinatorNotAvailableError:
                if time.monotonic() > deadline:
                    log.warning("group coordinator still unavailable on %s; going ahead", bootstrap)
                    return
                await asyncio.sleep(0.2)
                continue
            except (KafkaError, OSError) as exc:  # a courtesy, never the reason to fail: the hub will say what is wrong
                log.warning("could not reach the group coordinator (%r); going ahead", exc)
                return
            if not check_members:
                return
            try:
                busy = await _busy_groups(admin, groups)
            except (KafkaError, OSError) as exc:  # the check is a courtesy: never the reason to fail
                log.warning("could not inspect consumer groups (%r); going ahead", exc)
                return
            if not busy:
                return
            if time.monotonic() > deadline:
                raise BenchError(
                    f"consumer groups {', '.join(busy)} have live members on {bootstrap}: another hub is consuming "
                    "there; stop it or pass --bootstrap of a broker of your own"
                )
            await asyncio.sleep(1.0)
    finally:
        await admin.close()


async def _busy_groups(admin: AIOKafkaAdminClient, groups: list[str]) -> list[str]:
    busy = []
    for name in groups:  # one group per request: aiokafka 0.14 fails to decode a multi-group answer from Kafka 4
        for response in await admin.describe_consumer_groups([name]):
            for group in response.groups:
                # (error_code, group_id, state, protocol_type, protocol, members, ...)
                if group[5]:
                    busy.append(group[1])
    return busy


def _hub_settings(database_url: str, bootstrap: str) -> Settings:
    api_port, simulator_port = free_ports(2)
    return Settings(
        env="development",  # a local measurement: dev keys, plain-http simulator
        database_url=database_url,
        kafka=KafkaSettings(bootstrap=bootstrap),
        # The load is the point here: rate limits far beyond what one run sends.
        api=ApiSettings(
            host="127.0.0.1", port=api_port, clients={API_KEY: "bench"}, rate_limit_per_address=10**9, rate_limit_per_principal=10**9
        ),
        simulator_ports={AGENCY: simulator_port},
        enabled_agencies=[AGENCY],  # only Samsat's adapter and simulator run beside the hub
        agencies={AGENCY: {"base_url": f"http://127.0.0.1:{simulator_port}"}},
        log_level="WARNING",
    )


# --------------------------------------------------------------------------- hub path


@dataclass
class _Sample:
    sent: float  # perf_counter at POST send
    sent_wall: float  # time.time() at POST send, to compare with DB timestamps
    seen: float | None = None  # perf_counter of the first poll that saw it terminal
    seen_wall: float | None = None
    status: str | None = None


@dataclass
class _HubOutcome:
    stats: PathStats
    counts: CaseCounts
    stages: list[Stage]
    mean_poll_period_s: float
    found_by_sweep: int
    cpu: dict[str, float | None]


def request_bodies(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """Valid PKB requests the simulated Samsat accepts: registered plates, owner NIKs."""
    bodies = []
    for _ in range(n):
        nik = make_nik(rng)
        while nik.endswith("99"):
            nik = make_nik(rng)
        plate = make_plate(rng)
        while int(plate.split()[1]) > MAX_REGISTERED_SERIAL:
            plate = make_plate(rng)
        bodies.append(
            {"service": SERVICE, "applicant": {"nik": nik, "name": "Warga Bench"}, "data": {"plate": plate, "vehicle_type": "car"}}
        )
    return bodies


async def _hub_phase(
    settings: Settings, probe: _CpuProbe, *, requests: int, concurrency: int, warmup: int, seed: int, timeout: float
) -> _HubOutcome:
    rng = random.Random(seed)
    warm_bodies, bodies = request_bodies(warmup, rng), request_bodies(requests, rng)
    stop = asyncio.Event()
    hub_task = asyncio.create_task(run_all(settings, stop), name="bench-hub")
    engine = create_engine(settings.database_url)
    failure: BaseException | None = None
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{settings.api.port}",
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=60.0,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        ) as client:
            await _wait_api(client, hub_task)
            if warm_bodies:
                warm = await _submit_and_track(client, engine, hub_task, warm_bodies, concurrency, _CpuProbe(None), timeout=120.0)
                if not warm.counts.all_completed:
                    raise BenchError(f"warm-up cases did not all complete: {warm.counts}")
            run = await _submit_and_track(client, engine, hub_task, bodies, concurrency, probe, timeout=timeout)
        stages = await _stage_breakdown(engine, run.samples, await _simulator_ledger(settings.simulator_ports[AGENCY]))
        return _HubOutcome(run.stats, run.counts, stages, run.mean_poll_period_s, run.found_by_sweep, run.cpu)
    except BaseException as exc:
        failure = exc
        raise
    finally:
        stop.set()
        try:
            if not (await asyncio.wait({hub_task}, timeout=60.0))[0]:
                hub_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await hub_task
                raise BenchError("the hub did not stop within 60 s of being asked to")
            await hub_task
        except Exception as exc:
            if failure is None:
                raise BenchError(f"the hub did not stop cleanly: {exc!r}") from exc
            log.warning("hub stopped with %r after the bench failed", exc)
        finally:
            await engine.dispose()


async def _wait_api(client: httpx.AsyncClient, hub_task: asyncio.Task[None], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        _check_hub(hub_task)
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise BenchError("the hub's API did not come up in time")
        await asyncio.sleep(0.05)


def _check_hub(hub_task: asyncio.Task[None]) -> None:
    if hub_task.done():
        exc = None if hub_task.cancelled() else hub_task.exception()
        raise BenchError(f"the hub stopped during the bench: {exc!r}") from exc


@dataclass
class _Run:
    samples: dict[uuid.UUID, _Sample]
    stats: PathStats
    counts: CaseCounts
    mean_poll_period_s: float
    found_by_sweep: int
    cpu: dict[str, float | None]


async def _submit_and_track(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    hub_task: asyncio.Task[None],
    bodies: list[dict[str, Any]],
    concurrency: int,
    probe: _CpuProbe,
    *,
    timeout: float,
) -> _Run:
    samples: dict[uuid.UUID, _Sample] = {}
    pending: set[uuid.UUID] = set()
    submit_errors: list[str] = []
    todo = iter(bodies)

    async def submitter() -> None:
        for body in todo:  # one shared iterator: at most `concurrency` POSTs in flight
            sent, sent_wall = time.perf_counter(), time.time()
            try:
                response = await client.post("/v1/requests", json=body)
            except httpx.HTTPError as exc:
                submit_errors.append(repr(exc))
                continue
            if response.status_code != 202:
                submit_errors.append(f"{response.status_code}: {response.text[:200]}")
                continue
            case_id = uuid.UUID(response.json()["id"])
            samples[case_id] = _Sample(sent, sent_wall)
            pending.add(case_id)

    probe.start()
    submitters = asyncio.gather(*(submitter() for _ in range(min(concurrency, len(bodies)))))
    polls: list[float] = []
    deadline: float | None = None
    last_sweep, by_sweep = time.perf_counter(), 0
    try:
        next_tick = time.perf_counter()
        while True:
            _check_hub(hub_task)
            # Fixed cadence: a poll every POLL_INTERVAL_S, whatever the query took.
            next_tick += POLL_INTERVAL_S
            if pending:
                t, wall = time.perf_counter(), time.time()
                polls.append(t)
                swept = []
                if t - last_sweep >= SWEEP_EVERY_S:
                    # Before the watermark query: whatever the sweep sees committed, the
                    # watermark query must see too, unless its commit lagged its stamp.
                    last_sweep = t
                    swept = await _terminal_among(engine, list(pending))
                found = dict(await _terminal_since(engine, datetime.fromtimestamp(wall - WATERMARK_SLACK_S, UTC)))
                missed = [(i, st) for i, st in swept if i not in found]
                found.update(missed)
                by_sweep += len(missed)
                for case_id, status in found.items():
                    if case_id in pending:
                        sample = samples[case_id]
                        sample.seen, sample.seen_wall, sample.status = t, wall, status
                        pending.discard(case_id)
            if submitters.done():
                submitters.result()  # re-raise a bug in the submitter, if any
                if not pending:
                    break
                deadline = deadline or time.monotonic() + timeout
                if time.monotonic() > deadline:
                    break
            await asyncio.sleep(max(0.0, next_tick - time.perf_counter()))
    finally:
        cpu = probe.stop()
        if not submitters.done():
            submitters.cancel()
            with contextlib.suppress(BaseException):
                await submitters

    counts = CaseCounts(submitted=len(bodies), submit_errors=len(submit_errors), unfinished=len(pending))
    for sample in samples.values():
        if sample.status == Status.COMPLETED:
            counts.completed += 1
        elif sample.status == Status.REJECTED:
            counts.rejected += 1
        elif sample.status == Status.FAILED:
            counts.failed += 1
        elif sample.status is not None:
            counts.other_terminal += 1
    if submit_errors:
        log.warning("%d submissions failed, e.g. %s", len(submit_errors), submit_errors[0])
    done = [s for s in samples.values() if s.status == Status.COMPLETED and s.seen is not None]
    first = min((s.sent for s in samples.values()), default=0.0)
    last = max((s.seen for s in done if s.seen is not None), default=first)
    stats = PathStats.of([s.seen - s.sent for s in done if s.seen is not None], last - first)
    gaps = [b - a for a, b in itertools.pairwise(polls) if b - a < 5 * POLL_INTERVAL_S]  # skip idle stretches
    period = sum(gaps) / len(gaps) if gaps else POLL_INTERVAL_S
    return _Run(samples, stats, counts, period, by_sweep, cpu)


async def _terminal_since(engine: AsyncEngine, since: datetime) -> list[tuple[uuid.UUID, str]]:
    """Cases that turned terminal recently: one query with two fixed parameters, whose
    answer grows with throughput x slack, not with the number of cases in flight."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(Case.id, Case.status).where(Case.status.in_(_TERMINAL_VALUES), Case.updated_at >= since))
        return [(row[0], row[1]) for row in rows]


async def _terminal_among(engine: AsyncEngine, ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, str]]:
    """Which of these cases are terminal now (the safety sweep: one bound parameter per
    id, too costly to run every 20 ms with hundreds of cases in flight)."""
    found: list[tuple[uuid.UUID, str]] = []
    async with engine.connect() as conn:
        for i in range(0, len(ids), _CHUNK):
            rows = await conn.execute(
                select(Case.id, Case.status).where(Case.id.in_(ids[i : i + _CHUNK]), Case.status.in_(_TERMINAL_VALUES))
            )
            found.extend((row[0], row[1]) for row in rows)
    return found


async def _stage_breakdown(engine: AsyncEngine, samples: dict[uuid.UUID, _Sample], ledger: list[dict[str, Any]]) -> list[Stage]:
    """Split each completed case's latency at the timestamps the hub records anyway.

    History ``at`` is stamped at flush, just before the commit; outbox ``sent_at``
    after the broker acked the batch; the router's inbox row (``processed_messages``)
    when it starts handling a message; the simulated Samsat's ledger (ms resolution)
    when it applied the step. All come from this machine's clock, as do the bench's
    own send/seen times. Marks that are missing leave their segments empty (n/a).
    """
    ids = [i for i, s in samples.items() if s.status == Status.COMPLETED]
    marks: dict[uuid.UUID, dict[str, float]] = {i: {} for i in ids}
    by_message: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}  # router inbox id -> (case, mark)
    labels = {topics.REQUESTS: ("request_sent", "router_took_request"), topics.commands(AGENCY): ("command_sent", "router_took_event")}
    applied = {str(e.get("key")): e.get("applied_at") for e in ledger}
    async with engine.connect() as conn:
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            history = await conn.execute(
                select(HistoryRecord.case_id, HistoryRecord.to_status, HistoryRecord.at).where(
                    HistoryRecord.case_id.in_(chunk), HistoryRecord.step_id.is_(None)
                )
            )
            for case_id, status, at in history:
                marks[case_id].setdefault(status, at.timestamp())
            outbox = await conn.execute(
                select(OutboxMessage.key, OutboxMessage.topic, OutboxMessage.message_id, OutboxMessage.sent_at).where(
                    OutboxMessage.key.in_([str(c).encode() for c in chunk])
                )
            )
            for key, topic, message_id, sent_at in outbox:
                if topic in labels and sent_at is not None:
                    case_id = uuid.UUID(key.decode())
                    sent_mark, router_mark = labels[topic]
                    marks[case_id].setdefault(sent_mark, sent_at.timestamp())
                    # The router's inbox holds the request's id, and for the agency's
                    # report the id the adapter derives from the command's.
                    inbox_id = message_id if topic == topics.REQUESTS else report_message_id(message_id)
                    by_message[inbox_id] = (case_id, router_mark)
            steps = await conn.execute(select(Step.id, Step.case_id).where(Step.case_id.in_(chunk)))
            for step_id, case_id in steps:
                with contextlib.suppress(TypeError, ValueError):
                    marks[case_id].setdefault("samsat_applied", datetime.fromisoformat(str(applied[str(step_id)])).timestamp())
        inbox_ids = list(by_message)
        for i in range(0, len(inbox_ids), _CHUNK):
            taken = await conn.execute(
                select(ProcessedMessage.message_id, ProcessedMessage.processed_at).where(
                    ProcessedMessage.consumer == ROUTER_CONSUMER, ProcessedMessage.message_id.in_(inbox_ids[i : i + _CHUNK])
                )
            )
            for message_id, processed_at in taken:
                case_id, mark = by_message[message_id]
                marks[case_id].setdefault(mark, processed_at.timestamp())
    for case_id in ids:
        marks[case_id]["post"] = samples[case_id].sent_wall
        marks[case_id]["seen"] = samples[case_id].seen_wall or float("nan")

    submitted, routed, completed = Status.SUBMITTED.value, Status.ROUTED.value, Status.COMPLETED.value
    segments = [
        ("POST sent -> case + outbox row committed (API)", "post", submitted),
        ("-> request on mpp.requests, acked (outbox relay)", submitted, "request_sent"),
        ("-> router takes it (Kafka hop 1 + router's backlog)", "request_sent", "router_took_request"),
        ("-> step routed (router transaction)", "router_took_request", routed),
        ("-> command on mpp.commands.samsat, acked (relay)", routed, "command_sent"),
        ("-> Samsat applied it (hop 2 + adapter backlog + HTTP)", "command_sent", "samsat_applied"),
        ("-> router takes the report (reply, hop 3, backlog)", "samsat_applied", "router_took_event"),
        ("-> case COMPLETED (router transaction)", "router_took_event", completed),
        ("-> seen by the bench's poll", completed, "seen"),
        ("total: POST sent -> COMPLETED stamped", "post", completed),
    ]
    stages = []
    for name, start, end in segments:
        values = sorted((m[end] - m[start]) * 1000 for m in marks.values() if start in m and end in m)
        stages.append(Stage(name, percentile(values, 50), percentile(values, 95)))
    return stages


async def _simulator_ledger(port: int) -> list[dict[str, Any]]:
    """The simulated Samsat's ledger (when it applied each step), for the breakdown only."""
    try:
        async with httpx.AsyncClient(timeout=30.0) as client:
            response = await client.get(f"http://127.0.0.1:{port}/_sim/ledger")
            response.raise_for_status()
            return list(response.json()["entries"])
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        log.warning("no Samsat ledger for the breakdown: %r", exc)
        return []


# --------------------------------------------------------------------------- raw Kafka baseline


async def _baseline_phase(
    bootstrap: str, probe: _CpuProbe, *, requests: int, concurrency: int, warmup: int, timeout: float
) -> tuple[PathStats, dict[str, float | None]]:
    suffix = uuid.uuid4().hex[:10]
    names = [f"mpp-bench-{suffix}.hop{i}" for i in range(1, KAFKA_HOPS + 1)]
    kafka = KafkaSettings(bootstrap=bootstrap)
    # Laid out like a hub topic on this broker (3 partitions), outside the hub's topology.
    await prepare(
        kafka, [TopicSpec(n, "bench", 3, kafka.replication_factor, kafka.min_insync_replicas, Cleanup.DELETE, 3_600_000) for n in names]
    )
    stop = asyncio.Event()
    producers = [create_producer(kafka) for _ in range(KAFKA_HOPS)]  # source + one per forwarding stage
    consumers = [create_consumer(kafka, f"mpp-bench-{suffix}-hop{i}", [name]) for i, name in enumerate(names, 1)]
    sink = _Sink()
    tasks: list[asyncio.Task[None]] = []
    try:
        for client in (*producers, *consumers):
            await client.start()
        tasks = [
            *(asyncio.create_task(_forward(consumers[i], producers[i + 1], names[i + 1], stop)) for i in range(KAFKA_HOPS - 1)),
            asyncio.create_task(_drain(consumers[-1], sink, stop)),
        ]
        if warmup:
            await _source(producers[0], names[0], "w", max(warmup, concurrency), concurrency)
            await sink.wait("w", max(warmup, concurrency), 120.0, tasks)
        probe.start()
        sent = await _source(producers[0], names[0], "m", requests, concurrency)
        got = await sink.wait("m", requests, timeout, tasks)
        cpu = probe.stop()
        latencies = [got[seq] - t0 for seq, t0 in sent.items() if seq in got]
        first = min(sent.values())
        last = max(got.values(), default=first)
        return PathStats.of(latencies, last - first), cpu
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in (*consumers, *producers):
            with contextlib.suppress(Exception):
                await client.stop()
        await _delete_topics(bootstrap, names)


def _payload(phase: str, seq: int, sent: float) -> bytes:
    head = json.dumps({"phase": phase, "seq": seq, "sent": sent}).encode()
    return head + b" " * max(0, PAYLOAD_BYTES - len(head))


async def _source(producer: AIOKafkaProducer, topic: str, phase: str, n: int, concurrency: int) -> dict[int, float]:
    """``n`` messages, at most ``concurrency`` unacknowledged at a time (like in-flight POSTs)."""
    sent: dict[int, float] = {}
    todo = iter(range(n))

    async def worker() -> None:
        for seq in todo:
            t0 = time.perf_counter()
            sent[seq] = t0
            await producer.send_and_wait(topic, value=_payload(phase, seq, t0), key=uuid.uuid4().bytes)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))
    return sent


async def _forward(consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, out_topic: str, stop: asyncio.Event) -> None:
    async def partition(tp: TopicPartition, records: list[Any]) -> None:
        acks = [await producer.send(out_topic, value=r.value, key=r.key) for r in records]
        await asyncio.gather(*acks)
        await consumer.commit({tp: records[-1].offset + 1})

    while not stop.is_set():
        batches = await consumer.getmany(timeout_ms=100, max_records=200)
        await asyncio.gather(*(partition(tp, records) for tp, records in batches.items()))


class _Sink:
    def __init__(self) -> None:
        self.received: dict[str, dict[int, float]] = {"w": {}, "m": {}}
        self.changed = asyncio.Event()

    def add(self, phase: str, seq: int, at: float) -> None:
        self.received[phase].setdefault(seq, at)
        self.changed.set()

    async def wait(self, phase: str, n: int, timeout: float, tasks: list[asyncio.Task[None]]) -> dict[int, float]:
        deadline = time.monotonic() + timeout
        while len(self.received[phase]) < n and time.monotonic() < deadline:
            for task in tasks:
                if task.done() and task.exception():
                    raise BenchError(f"baseline stage failed: {task.exception()!r}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=0.5)
        return self.received[phase]


async def _drain(consumer: AIOKafkaConsumer, sink: _Sink, stop: asyncio.Event) -> None:
    while not stop.is_set():
        batches = await consumer.getmany(timeout_ms=100, max_records=200)
        at = time.perf_counter()
        for records in batches.values():
            for record in records:
                message = json.loads(record.value)
                sink.add(message["phase"], message["seq"], at)
        if batches:
            await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})


async def _delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        await admin.delete_topics(names)
    except (KafkaError, OSError) as exc:
        log.warning("could not delete bench topics %s: %r", names, exc)
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """The hub's own INFO lines (one per request and step) would cost time and bury
    the table: WARNING and above only, restored afterwards."""
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        if lg.getEffectiveLevel() < logging.WARNING:
            lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


class _CpuProbe:
    """CPU seconds used over a measured window by this Python process (all threads:
    the event loop and aiosqlite's) and, when the bench started it, by the broker."""

    def __init__(self, broker: LocalKafka | None) -> None:
        self._pid = broker.status().pid if broker is not None else None
        self._start: tuple[float, float, float | None] = (0.0, 0.0, None)

    def start(self) -> None:
        self._start = (time.perf_counter(), time.process_time(), self._broker_cpu())

    def stop(self) -> dict[str, float | None]:
        wall0, cpu0, broker0 = self._start
        broker1 = self._broker_cpu()
        return {
            "window_wall_s": time.perf_counter() - wall0,
            "python_cpu_s": time.process_time() - cpu0,
            "broker_cpu_s": broker1 - broker0 if broker0 is not None and broker1 is not None else None,
        }

    def _broker_cpu(self) -> float | None:
        if self._pid is None:
            return None
        try:
            fields = Path(f"/proc/{self._pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None


def _num(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.1f}"


def _cpu_line(label: str, cpu: dict[str, float | None], prefix: str) -> str:
    wall = cpu.get(f"{prefix}window_wall_s") or float("nan")
    python = cpu.get(f"{prefix}python_cpu_s") or 0.0
    broker = cpu.get(f"{prefix}broker_cpu_s")
    line = f"    {label:<12}window {wall:6.2f} s   python {python:6.2f} s = {python / wall:4.2f} cores"
    return line + (f"   broker {broker:6.2f} s = {broker / wall:4.2f} cores" if broker is not None else "   broker: not ours, not measured")


def format_result(r: BenchResult) -> str:
    def row(name: str, tput: str, cells: list[str]) -> str:
        return f"  {name:<22}{tput:>12}" + "".join(f"{c:>10}" for c in cells)

    def ms(x: float) -> str:
        return f"{x:.1f}"

    def times(x: float) -> str:
        return f"{x:.1f}x"

    keys = ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "max_ms")
    ratios = r.latency_ratios
    c = r.cases
    cpu = r.cpu
    lines = [
        "",
        f"  requests      {r.requests} (+{r.warmup} warm-up, not counted), concurrency {r.concurrency} in flight",
        f"  database      {r.db_backend}  {r.database}",
        f"  kafka         {r.kafka_bootstrap}" + ("  (throwaway local broker started by the bench)" if r.kafka_started_by_bench else ""),
        f"  python        {r.python}, aiokafka {r.aiokafka}, {r.cpus} CPUs; hub in one event loop (run_all)",
        f"  hub settings  {r.hub_settings}",
        "",
        row("", "throughput", ["p50", "p95", "p99", "mean", "max"]),
        row("", "(per s)", ["(ms)"] * 5),
        row("hub path", f"{r.hub.throughput_per_s:.1f}", [ms(getattr(r.hub, k)) for k in keys]),
        row(f"raw Kafka, {KAFKA_HOPS} hops", f"{r.baseline.throughput_per_s:.1f}", [ms(getattr(r.baseline, k)) for k in keys]),
        row("ratio", times(r.throughput_ratio), [times(ratios[k]) for k in keys]),
        "  (ratio: baseline ÷ hub for throughput, hub ÷ baseline for latency)",
        "",
        f"  cases         {c.completed} completed, {c.rejected} rejected, {c.failed} failed, {c.other_terminal} other terminal, "
        f"{c.unfinished} unfinished, {c.submit_errors} submit errors"
        + ("  -> all completed" if c.all_completed else "  -> NOT ALL COMPLETED"),
        f"  timing        hub: POST sent -> first poll of `cases` seeing COMPLETED; polled every {r.poll_interval_ms:.0f} ms "
        f"(mean period {r.mean_poll_period_ms:.1f} ms), so hub latencies are late by up to one period"
        + (f"; {r.found_by_sweep} found only by the 1 s safety sweep (late)" if r.found_by_sweep else ""),
        "                baseline: send -> receipt at the sink (perf_counter, no polling)",
        f"                throughput = completed / (first send -> last completion): hub {r.hub.elapsed_s:.2f} s, baseline {r.baseline.elapsed_s:.2f} s",
        "",
        "  where a hub case's time goes (completed cases, recorded timestamps)    p50 ms    p95 ms",
        *(f"    {s.name:<66}{_num(s.p50_ms):>8}{_num(s.p95_ms):>10}" for s in r.stages),
        "",
        "  CPU over each measured window (first send -> last completion), in seconds and cores busy:",
        *(_cpu_line(label, cpu, prefix) for label, prefix in (("hub path", "hub_"), ("raw Kafka", "baseline_"))),
        "    (the hub runs in one event loop: python near 1.0 core means that loop is the bottleneck)",
    ]
    return "\n".join(lines)
