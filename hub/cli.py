"""`mpp-hub`: one command for every process of the hub, and for its operators."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer

from adapters.sdk.discovery import load_agency
from hub.config import VAR_DIR, Settings, get_settings, load_catalogue
from hub.db.engine import is_sqlite
from hub.db.migrate import upgrade
from hub.features.audit.cli import audit_app
from hub.features.deadletters.cli import dlq_app
from hub.features.principals.cli import principals_app
from hub.features.privacy.cli import privacy_app
from hub.features.privacy.keys_cli import keys_app
from hub.observability.logs import setup_logging
from hub.observability.tracing import configure_tracing
from hub.production import ProductionRefused, ensure_production_ready
from hub.runtime import processes

app = typer.Typer(help="mpp-hub: integration hub for Mal Pelayanan Publik.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
kafka_app = typer.Typer(help="Kafka: the hub's topics, and the local single-node broker (KRaft) for development.", no_args_is_help=True)
catalogue_app = typer.Typer(help="The service catalogue.", no_args_is_help=True)
schemas_app = typer.Typer(help="The canonical contract as JSON Schema and AsyncAPI.", no_args_is_help=True)


@app.callback()
def _fresh_settings() -> None:
    """Every invocation reads its own environment, also when one process runs several
    (tests, tools embedding the CLI): never the settings an earlier one cached."""
    get_settings.cache_clear()


app.add_typer(db_app, name="db")
app.add_typer(kafka_app, name="kafka")
app.add_typer(catalogue_app, name="catalogue")
app.add_typer(schemas_app, name="schemas")
app.add_typer(dlq_app, name="dlq")  # defined in hub/features/deadletters/cli.py
app.add_typer(audit_app, name="audit")  # hub/features/audit/cli.py
app.add_typer(privacy_app, name="privacy")  # hub/features/privacy/cli.py
app.add_typer(keys_app, name="keys")  # hub/features/privacy/keys_cli.py
app.add_typer(principals_app, name="principals")  # defined in hub/features/principals/cli.py


@catalogue_app.command("list")
def catalogue_list() -> None:
    """Every service (provider, whether it is connected, SLA, fee) and every composite
    (SLA, fee, and each step's service and provider)."""
    settings = get_settings()
    catalogue = load_catalogue(settings)
    for service in sorted(catalogue, key=lambda s: s.code):
        connected = "connected" if service.provider in settings.agencies else "NOT CONNECTED"
        typer.echo(f"{service.code:34} {service.provider:10} {connected:13} SLA {service.sla_working_days:>3g} wd  {service.name_en}")
        typer.echo(f"{'':34} fee: {service.fee}")
    for composite in catalogue.composites():
        typer.echo(f"{composite.code:34} {'composite':10} {'':13} SLA {composite.sla_working_days:>3g} wd  {composite.name_en}")
        typer.echo(f"{'':34} fee: {composite.fee}")
        for step in composite.steps:
            step_service = catalogue.get(step.service)
            provider = step_service.provider if step_service else "?"  # the catalogue refuses unknown services
            after = f" after {', '.join(step.after)}" if step.after else ""
            typer.echo(f"{'':34}   {step.name}: {step.service} ({provider}){after}")


@catalogue_app.command("export")
def catalogue_export(target: Annotated[Path, typer.Argument(help="Directory to write the TOML files into.")]) -> None:
    """Copy the shipped catalogue (the hub's own files and every installed agency's) into
    TARGET, to edit and load with MPP_CATALOGUE_PATH=TARGET."""
    from hub.catalogue import export_shipped

    for path in export_shipped(target):
        typer.echo(f"wrote {path}")


@schemas_app.command("export")
def schemas_export(
    check: Annotated[bool, typer.Option(help="Only check that the published files are up to date; exit 1 if not.")] = False,
) -> None:
    """Write schemas/published/ (JSON Schema per model, asyncapi.json) from the pydantic models."""
    from schemas import export

    if check:
        stale = export.stale_files()
        for path in stale:
            typer.echo(f"stale: {path}")
        raise typer.Exit(1 if stale else 0)
    written = export.write()
    typer.echo(f"wrote {len(written)} files to {export.PUBLISHED}")


MetricsPortOption = Annotated[
    int | None, typer.Option("--metrics-port", help="Serve /metrics, /livez and /readyz on this port (MPP_METRICS_PORT).")
]


def _run(
    name: str,
    main: Callable[[Settings, asyncio.Event], Coroutine[Any, Any, None]],
    metrics_port: int | None = None,
    *,
    production_check: bool = True,
) -> None:
    """Run ``main`` until SIGINT/SIGTERM, which ask it to stop cleanly; with the
    process's logging, its probes and metrics, and tracing when the OTEL_* environment
    asks for it; in production mode, only once the configuration is fit for it (else
    exit 2 listing every problem)."""
    settings = get_settings()
    if metrics_port is not None:
        settings = settings.model_copy(update={"metrics_port": metrics_port})
    setup_logging(name, level=settings.log_level, log_format=settings.log_format)
    if production_check:
        try:
            # An adapter process is judged by its own agency's settings alone.
            ensure_production_ready(settings, name.removeprefix("adapter:") if name.startswith("adapter:") else None)
        except ProductionRefused as exc:
            typer.echo(f"mpp-hub {name}: {exc}", err=True)
            raise typer.Exit(2) from None
    tracing = configure_tracing(name)

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await processes.observed(settings, stop, main(settings, stop))

    try:
        asyncio.run(runner())
    finally:
        if tracing is not None:
            tracing.shutdown()  # exports what is left


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply Alembic migrations up to the newest."""
    settings = get_settings()
    upgrade(settings.database_url)
    typer.echo("database is up to date")


@app.command()
def api(metrics_port: MetricsPortOption = None) -> None:
    """Serve the portal API (MPP_API__HOST / MPP_API__PORT)."""
    _run("api", processes.run_api, metrics_port)


@app.command()
def relay(metrics_port: MetricsPortOption = None) -> None:
    """Publish the transactional outbox to Kafka."""
    _run("relay", processes.run_relay, metrics_port)


@app.command()
def router(metrics_port: MetricsPortOption = None) -> None:
    """Route requests to agencies and apply their reports to cases."""
    _run("router", processes.run_router_process, metrics_port)


@app.command()
def adapter(
    name: Annotated[str, typer.Argument(help="Agency, as named by its entry point (e.g. samsat), or `verify`.")],
    agency: Annotated[str | None, typer.Argument(help="With `verify`: the agency whose adapter to verify.")] = None,
    metrics_port: MetricsPortOption = None,
) -> None:
    """`mpp-hub adapter <agency>` runs its worker; `mpp-hub adapter verify <agency>` runs the contract kit against its simulator."""
    if name == "verify":
        if agency is None:
            raise typer.BadParameter("usage: mpp-hub adapter verify <agency>")
        raise typer.Exit(_verify_adapter(agency))
    if agency is not None:
        raise typer.BadParameter(f"unexpected argument {agency!r}")
    _run(f"adapter:{name}", lambda s, stop: processes.run_adapter(s, name, stop), metrics_port)


def _verify_adapter(agency: str) -> int:
    logging.basicConfig(level=logging.WARNING)
    report = asyncio.run(load_agency(agency).verify())
    for result in report.results:
        typer.echo(f"{'PASS' if result.passed else 'FAIL'}  {result.name}\n      {result.detail}")
    passed = sum(r.passed for r in report.results)
    typer.echo(f"{agency}: {passed} passed, {len(report.results) - passed} failed")
    return 0 if report.passed else 1


@app.command()
def simulator(
    name: Annotated[str, typer.Argument(help="Agency whose backend to simulate (e.g. samsat).")],
    port: Annotated[int | None, typer.Option(help="Defaults to the agency's simulator port (MPP_SIMULATOR_PORTS).")] = None,
    ledger: Annotated[Path | None, typer.Option(help="SQLite file for the ledger of applied keys (survives restarts).")] = None,
    secret: Annotated[
        list[str] | None, typer.Option(help="Shared secret as NAME=VALUE (repeatable); default: the ones the hub's adapter uses.")
    ] = None,
) -> None:
    """Run an agency backend simulator, with the secrets the agency's adapter is configured with."""
    given = dict(item.split("=", 1) for item in secret or [] if "=" in item)

    def main(settings: Settings, stop: asyncio.Event) -> Coroutine[Any, Any, None]:
        chosen = port or settings.simulator_ports.get(name)
        if chosen is None:
            raise typer.BadParameter(f"no port configured for {name}; pass --port")
        options = processes.simulator_options(settings, name, str(ledger) if ledger else ":memory:")
        options = options.model_copy(update={"secrets": {**options.secrets, **given}})
        return processes.run_simulator(name, "127.0.0.1", chosen, stop, options)

    _run(f"simulator:{name}", main, production_check=False)  # a simulator is a test double, never production


@app.command()
def dev(metrics_port: MetricsPortOption = None) -> None:
    """Everything in one process (API, relay, router, and every connected agency's adapter
    and simulator) on the configured DB, in development mode unless MPP_ENV says otherwise."""
    os.environ.setdefault("MPP_ENV", "development")
    get_settings.cache_clear()
    settings = get_settings()
    if is_sqlite(settings.database_url):
        VAR_DIR.mkdir(exist_ok=True)
    upgrade(settings.database_url)
    typer.echo(
        f"mpp-hub dev: API http://{settings.api.host}:{settings.api.port}/docs  "
        f"(bearer key: {next(iter(settings.api.clients), '-')}), Kafka {settings.kafka.bootstrap}, DB {settings.database_url}"
    )
    typer.echo(f"  console    {settings.api.local_url}/console  ({_console_sign_in_hint(settings)})")
    for agency, backend in sorted(settings.agencies.items()):
        typer.echo(f"  {agency:10} simulator http://127.0.0.1:{settings.simulator_ports[agency]}  adapter -> {backend.base_url}")
    _run("dev", processes.run_all, metrics_port)


DEV_OPERATOR_KEY = "dev-operator-key"  # the default of ApiSettings.operator_keys


def _console_sign_in_hint(settings: Settings) -> str:
    """Names the development operator key only; a real one is never printed."""
    if DEV_OPERATOR_KEY in settings.api.operator_keys:
        return f"operator key: {DEV_OPERATOR_KEY}"
    return "sign in with an operator key of MPP_API__OPERATOR_KEYS"


def _local_kafka(home: Path, port: int, controller_port: int, brokers: int = 1) -> Any:
    """One broker, or ``brokers`` nodes of one cluster: node i (from 0) listens on
    ``port + 2i`` and its controller on ``controller_port + 2i`` (9092/9093, 9094/9095, ...)."""
    from deploy.kafka.local_kafka import LocalKafka, LocalKafkaCluster, LocalKafkaConfig

    if brokers == 1:
        return LocalKafka(LocalKafkaConfig(home=home, port=port, controller_port=controller_port))
    return LocalKafkaCluster(home, [port + 2 * i for i in range(brokers)], [controller_port + 2 * i for i in range(brokers)])


KAFKA_HOME = VAR_DIR / "kafka"
Home = Annotated[Path, typer.Option(help="Broker data and logs; kept between restarts.")]
Port = Annotated[int, typer.Option(help="Client port on 127.0.0.1 (SASL/SCRAM-SHA-512; the admin is the default Kafka principal).")]
ControllerPort = Annotated[int, typer.Option(help="KRaft controller port on 127.0.0.1.")]
Brokers = Annotated[
    int, typer.Option(min=1, help="Nodes (each broker and controller); 3 gives replication factor 3 and min.insync.replicas 2.")
]


@kafka_app.command("start")
def kafka_start(home: Home = KAFKA_HOME, port: Port = 9092, controller_port: ControllerPort = 9093, brokers: Brokers = 1) -> None:
    """Start the local broker, or a cluster of them (fetches the jars from Maven Central the first
    time): SASL/SCRAM with the default (development) Kafka credentials as super user, ACLs enforced."""
    kafka = _local_kafka(home, port, controller_port, brokers)
    kafka.start()
    typer.echo(f"kafka running at {kafka.bootstrap} (data in {home})")
    if brokers > 1:
        typer.echo(
            f"lay the hub's topics out on it: MPP_KAFKA__BOOTSTRAP={kafka.bootstrap} "
            f"MPP_KAFKA__REPLICATION_FACTOR={kafka.replication_factor} MPP_KAFKA__MIN_INSYNC_REPLICAS={kafka.min_insync_replicas}"
        )


@kafka_app.command("stop")
def kafka_stop(home: Home = KAFKA_HOME, port: Port = 9092, controller_port: ControllerPort = 9093, brokers: Brokers = 1) -> None:
    """Stop the local broker(s) cleanly (SIGTERM, then SIGKILL after a timeout)."""
    _local_kafka(home, port, controller_port, brokers).stop()
    typer.echo("kafka stopped")


@kafka_app.command("status")
def kafka_status(home: Home = KAFKA_HOME, port: Port = 9092, controller_port: ControllerPort = 9093, brokers: Brokers = 1) -> None:
    """Say whether the local broker (every node of the cluster) runs; exit 1 when one does not."""
    kafka = _local_kafka(home, port, controller_port, brokers)
    statuses = [kafka.status()] if brokers == 1 else kafka.status()
    for status in statuses:
        typer.echo(f"kafka {'running (pid ' + str(status.pid) + ')' if status.running else 'not running'} at {status.bootstrap}")
    raise typer.Exit(0 if all(status.running for status in statuses) else 1)


@kafka_app.command("topics")
def kafka_topics(
    apply: Annotated[bool, typer.Option("--apply", help="Create missing topics and set the declared configs on the others.")] = False,
) -> None:
    """The topology: every topic of the hub and of the configured agencies' adapters,
    with partitions, replication factor, min ISR, retention and cleanup policy."""
    from messaging import topology

    settings = get_settings()
    layout = topology.Topology(settings.kafka)
    specs = topology.merged(
        layout.hub(load_catalogue(settings).providers()),
        *(layout.adapter(agency, len(backend.retry_topic_delays_seconds)) for agency, backend in sorted(settings.agencies.items())),
    )
    typer.echo(f"{'topic':34} {'partitions':>10} {'RF':>3} {'min ISR':>7} {'retention':>10}  cleanup")
    for spec in specs:
        typer.echo(
            f"{spec.name:34} {spec.partitions:>10} {spec.replication_factor:>3} {spec.min_insync_replicas:>7} "
            f"{topology.retention_text(spec):>10}  {spec.cleanup.value}"
        )
    if not apply:
        return
    reports = asyncio.run(topology.apply(settings.kafka, specs))
    typer.echo(f"\napplied to {settings.kafka.bootstrap}:")
    for report in reports:
        changes = ", ".join(f"{name} {was} -> {now}" for name, (was, now) in report.reconfigured.items())
        action = "created" if report.created else (f"configured ({changes})" if changes else "as declared")
        typer.echo(f"  {report.spec.name:34} {action}")
        for drift in report.drift:
            typer.echo(f"  {'':34} DRIFT: {drift}")
    raise typer.Exit(1 if any(r.drift for r in reports) else 0)


@kafka_app.command("principals")
def kafka_principals(
    apply: Annotated[bool, typer.Option("--apply", help="Set the credentials and ACLs on the cluster, signed in as an admin.")] = False,
    passwords: Annotated[
        Path,
        typer.Option(
            help="A directory with one file per principal, named after it (a Compose secret or a mounted Kubernetes Secret: "
            "read only, every principal's file required); or a JSON file principal -> password, where new principals get a "
            "generated one, written back (mode 0600)."
        ),
    ] = VAR_DIR / "kafka-principals.json",
) -> None:
    """One principal per role on the bus (the hub; each agency's adapter) and its ACLs."""
    from messaging import access

    settings = get_settings()
    adapters = {agency: len(backend.retry_topic_delays_seconds) for agency, backend in settings.agencies.items()}
    wanted = access.principals(adapters)
    for principal in wanted:
        typer.echo(f"User:{principal.name}")
        for line in access.grants_text(principal):
            typer.echo(f"  {line}")
    if not apply:
        return
    try:
        known = access.passwords_of(wanted, passwords)
    except access.AccessError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    asyncio.run(access.apply_roles(settings.kafka, load_catalogue(settings).providers(), adapters, known))
    typer.echo(f"\n{len(wanted)} principals provisioned on {settings.kafka.bootstrap}; their passwords are in {passwords}")


@app.command()
def bench(
    requests: Annotated[int, typer.Option(min=1, help="Requests to push through the whole path (after a short warm-up).")] = 300,
    concurrency: Annotated[int, typer.Option(min=1, help="Submissions in flight at once (and sends in flight in the baseline).")] = 20,
    database_url: Annotated[
        str | None, typer.Option(help="An empty database to use; default: a fresh SQLite file in a temporary directory.")
    ] = None,
    bootstrap: Annotated[
        str | None,
        typer.Option(help="Kafka to use; default: MPP_KAFKA__BOOTSTRAP, or a throwaway local broker when nothing answers there."),
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the results to this JSON file.")] = None,
) -> None:
    """Measure throughput and p50/p95/p99 latency of the whole path, next to raw Kafka over the same hops."""
    from benchmarks import bench as bench_module

    code = bench_module.main(
        requests=requests, concurrency=concurrency, database_url=database_url, bootstrap=bootstrap, json_path=json_path
    )
    raise typer.Exit(code)


if __name__ == "__main__":
    app()
