"""Every process the hub has is deployed by both the Helm chart and the Compose stack,
each the way it needs: probes, metrics, resources, disruption budgets, migrations first,
secrets referenced and never inlined."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from pydantic import SecretStr

from adapters.sdk import discovery
from hub import cli
from hub.runtime import processes
from support.deployment import (
    CHART,
    COMPOSE_PROMETHEUS,
    DEPLOY,
    PRODUCTION_VALUES,
    Manifest,
    compose_config,
    containers,
    hub_services,
    manifests,
    of_kind,
    pod_specs,
    render_chart,
)

#: Each command of `mpp-hub`, by what a deployment does with it. A new command fails
#: the test below until it is placed here (and, if it is a process, deployed).
LONG_RUNNING = frozenset({"api", "relay", "router", "adapter"})
ONE_SHOT = frozenset({"db"})  # `db upgrade`, before every install and upgrade
DEMO_ONLY = frozenset({"simulator"})  # an agency backend's stand-in: Compose's `simulators` profile
OPERATOR_TOOLS = frozenset({"dev", "bench", "kafka", "catalogue", "schemas", "dlq", "principals"})
#: Each process function of hub/runtime/processes.py and the command that runs it.
PROCESS_FUNCTIONS = {
    "run_api": "api",
    "run_relay": "relay",
    "run_router_process": "router",
    "run_adapter": "adapter",
    "run_simulator": "simulator",
    "run_all": "dev",
}


def expected_processes() -> set[tuple[str, ...]]:
    agencies = discovery.available()
    return {("api",), ("relay",), ("router",), ("db", "upgrade")} | {("adapter", agency) for agency in agencies}


@pytest.fixture(scope="module")
def production() -> list[Manifest]:
    return manifests(render_chart(PRODUCTION_VALUES))


@pytest.fixture(scope="module")
def compose_services() -> dict[str, dict[str, Any]]:
    return hub_services(compose_config(profiles=("simulators",)))


def test_every_command_of_the_hub_is_classified() -> None:
    commands = set(typer.main.get_command(cli.app).commands)  # type: ignore[attr-defined]
    assert commands == LONG_RUNNING | ONE_SHOT | DEMO_ONLY | OPERATOR_TOOLS


def test_every_process_function_has_its_command() -> None:
    functions = {
        name
        for name, function in inspect.getmembers(processes, inspect.iscoroutinefunction)
        if name.startswith("run_") and function.__module__ == processes.__name__
    }
    assert functions == set(PROCESS_FUNCTIONS)


def test_the_chart_deploys_every_process(production: list[Manifest]) -> None:
    deployed = {tuple(container["args"]) for _, container in containers(production)}
    assert deployed == expected_processes()


def test_the_chart_can_enable_every_installed_agency() -> None:
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(defaults["adapters"]) == set(discovery.available())
    assert not any(adapter["enabled"] for adapter in defaults["adapters"].values()), "an agency is connected only on purpose"


def test_compose_runs_every_process(compose_services: dict[str, dict[str, Any]]) -> None:
    commands = {tuple(service["command"]) for service in compose_services.values()}
    simulators = {command for command in commands if command[0] == "simulator"}
    assert commands - simulators == expected_processes()
    assert simulators == {("simulator", agency) for agency in discovery.available()}


def test_compose_simulators_are_a_demo_profile_beside_their_adapter(compose_services: dict[str, dict[str, Any]]) -> None:
    adapters = {service["command"][1]: name for name, service in compose_services.items() if service["command"][0] == "adapter"}
    for service in compose_services.values():
        if service["command"][0] == "simulator":
            assert service["profiles"] == ["simulators"]
            assert service["network_mode"] == f"service:{adapters[service['command'][1]]}"
        else:
            assert "profiles" not in service


def test_compose_starts_the_hub_after_migrations(compose_services: dict[str, dict[str, Any]]) -> None:
    for name, service in compose_services.items():
        if service["command"][0] in LONG_RUNNING:
            assert service["depends_on"]["db-upgrade"]["condition"] == "service_completed_successfully", name


def test_prometheus_scrapes_every_long_running_compose_process(compose_services: dict[str, dict[str, Any]]) -> None:
    config = yaml.safe_load(COMPOSE_PROMETHEUS.read_text())
    # One job with a role per target: the alert rules watch up{job="mpp-hub"} and name the role.
    assert [job["job_name"] for job in config["scrape_configs"]] == ["mpp-hub"]
    assert all(group["labels"]["role"] for job in config["scrape_configs"] for group in job["static_configs"])
    targets = {target for job in config["scrape_configs"] for group in job["static_configs"] for target in group["targets"]}
    expected = set()
    for name, service in compose_services.items():
        if service["command"][0] in LONG_RUNNING:
            environment = service["environment"]
            port = environment["MPP_API__PORT"] if service["command"][0] == "api" else environment["MPP_METRICS_PORT"]
            expected.add(f"{name}:{port}")
    assert targets == expected


def test_each_chart_deployment_has_probes_resources_a_service_and_a_budget(production: list[Manifest]) -> None:
    services = {doc["metadata"]["name"]: doc for doc in of_kind(production, "Service")}
    budgets = {doc["metadata"]["name"] for doc in of_kind(production, "PodDisruptionBudget")}
    for deployment in of_kind(production, "Deployment"):
        name = deployment["metadata"]["name"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert set(container["resources"]) == {"requests", "limits"}, name
        assert "metrics" in {port["name"] for port in services[name]["spec"]["ports"]}, name
        assert name in budgets


def test_the_relay_runs_alone_even_during_a_rollout(production: list[Manifest]) -> None:
    """One relay keeps each case's order (docs/architecture.md, "Outbox")."""
    (relay,) = [doc for doc in of_kind(production, "Deployment") if doc["metadata"]["name"].endswith("-relay")]
    assert relay["spec"]["replicas"] == 1
    assert relay["spec"]["strategy"]["type"] == "Recreate"


def test_compose_runs_one_relay(compose_services: dict[str, dict[str, Any]]) -> None:
    relays = [service for service in compose_services.values() if service["command"] == ["relay"]]
    assert len(relays) == 1
    assert relays[0].get("deploy", {}).get("replicas", 1) == 1


def test_the_chart_runs_migrations_first_as_a_hook(production: list[Manifest]) -> None:
    (job,) = of_kind(production, "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]
    assert set(job["metadata"]["annotations"]["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}


def test_the_chart_scales_the_api_and_the_adapters(production: list[Manifest]) -> None:
    (hpa,) = of_kind(production, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"].endswith("-api")
    scaled = {doc["spec"]["triggers"][0]["metadata"]["consumerGroup"] for doc in of_kind(production, "ScaledObject")}
    assert scaled == {f"mpp-adapter-{agency}" for agency in discovery.available()}
    for deployment in of_kind(production, "Deployment"):
        autoscaled = deployment["metadata"]["name"].endswith("-api") or "-adapter-" in deployment["metadata"]["name"]
        assert ("replicas" in deployment["spec"]) != autoscaled, "an autoscaler owns the replica count of what it scales"
    (monitor,) = of_kind(production, "ServiceMonitor")
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/part-of"  # job="mpp-hub", as the alert rules expect
    assert {"targetLabel": "role", "sourceLabels": ["__meta_kubernetes_service_label_app_kubernetes_io_component"]} in monitor["spec"][
        "endpoints"
    ][0]["relabelings"]


def test_the_api_is_published_over_tls_only(production: list[Manifest]) -> None:
    (ingress,) = of_kind(production, "Ingress")
    (rule,) = ingress["spec"]["rules"]
    assert ingress["spec"]["tls"] == [{"hosts": [rule["host"]], "secretName": "mpp-hub-tls"}]
    assert rule["http"]["paths"][0]["backend"]["service"]["name"].endswith("-api")


def test_the_chart_inlines_no_secret(production: list[Manifest]) -> None:
    assert not of_kind(production, "Secret")
    secret_fields = {
        f"MPP_AGENCIES__{agency.upper()}__{field.upper()}"
        for agency, plugin in discovery.installed().items()
        for field, info in plugin.settings_model().model_fields.items()
        if info.annotation is not None and SecretStr in (info.annotation, *getattr(info.annotation, "__args__", ()))
    } | {"MPP_DATABASE_URL", "MPP_API__CLIENTS", "MPP_API__OPERATOR_KEYS"}
    for workload, container in containers(production):
        for env in container["env"]:
            if env["name"] in secret_fields:
                assert "secretKeyRef" in env["valueFrom"], f"{workload['metadata']['name']}: {env['name']} inlined"


def test_every_pod_runs_as_a_non_root_user_on_a_read_only_root(production: list[Manifest]) -> None:
    for workload, spec in pod_specs(production):
        assert spec["securityContext"]["runAsNonRoot"] is True, workload["metadata"]["name"]
        for container in spec["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_every_file_compose_mounts_is_in_the_repository() -> None:
    """Prometheus's alert rules, Grafana's dashboard and provisioning: a mistyped path
    would mount an empty directory instead."""
    services = compose_config(profiles=("simulators",))["services"]
    sources = [
        Path(volume["source"] if isinstance(volume, dict) else volume.split(":", 1)[0])
        for service in services.values()
        for volume in service.get("volumes", [])
        if (volume.get("type") == "bind" if isinstance(volume, dict) else volume.startswith(("/", ".")))
    ]
    assert sources, "the stack mounts no configuration at all"
    assert [str(source) for source in sources if not (DEPLOY / source).exists()] == []
