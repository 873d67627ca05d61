"""The bus is authenticated and authorised wherever the hub is deployed (issue 10, point 3):
the brokers of the Compose stack authenticate every listener and deny what no ACL
allows; every process of the chart and of the Compose stack signs in with SASL as its
own principal, given that principal's password alone, from a secret; the principals and
their ACLs are provisioned once per install and upgrade; no development password ships."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from adapters.sdk import discovery
from hub.config import Settings
from messaging.access import HUB_PRINCIPAL, adapter_principal_name, principals
from messaging.settings import DEV_PASSWORD
from support.deployment import (
    CHART,
    COMPOSE_FILE,
    DEPLOY,
    ENV_EXAMPLE,
    PRODUCTION_VALUES,
    REPO,
    Manifest,
    compose_config,
    containers,
    env_file,
    hub_services,
    manifests,
    of_kind,
    render_chart,
)

VALUES = {"default values": None, "production values": PRODUCTION_VALUES}
PROVISIONING = ["kafka", "principals", "--apply", "--passwords"]
COMPOSE_ADMIN = "mpp-admin"


def principal_of(command: list[str]) -> str:
    """The principal a process signs in as: its agency adapter's, or the hub's."""
    return adapter_principal_name(command[1]) if command[0] == "adapter" else HUB_PRINCIPAL


def every_principal() -> set[str]:
    return {p.name for p in principals(dict.fromkeys(discovery.available(), 1))}


@pytest.fixture(scope="module")
def compose_services() -> dict[str, dict[str, Any]]:
    return hub_services(compose_config(profiles=("simulators",)))


@pytest.fixture(scope="module")
def compose_all() -> dict[str, Any]:
    return compose_config(profiles=("simulators",))


def _env(container: Manifest) -> dict[str, Manifest]:
    return {env["name"]: env for env in container.get("env", [])}


# --------------------------------------------------------------------------- Helm


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_every_chart_process_signs_in_as_its_own_principal_with_its_own_secret(values: Path | None) -> None:
    docs = manifests(render_chart(values))
    checked = 0
    for workload, container in containers(docs):
        if container["args"][:2] == ["kafka", "principals"]:
            continue  # the provisioning admin: below
        env = _env(container)
        name = workload["metadata"]["name"]
        assert env["MPP_KAFKA__SECURITY_PROTOCOL"]["value"].startswith("SASL"), name
        assert env["MPP_KAFKA__SASL_MECHANISM"]["value"].startswith("SCRAM-"), name
        principal = principal_of(container["args"])
        assert env["MPP_KAFKA__USERNAME"]["value"] == principal, name
        assert env["MPP_KAFKA__PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "mpp-hub-kafka-principals", "key": principal}, name
        checked += 1
    assert checked >= 4  # api, relay, router, db upgrade (and every enabled adapter)


def test_the_production_chart_signs_in_over_tls_with_the_clusters_ca() -> None:
    for workload, container in containers(manifests(render_chart(PRODUCTION_VALUES))):
        env = _env(container)
        assert env["MPP_KAFKA__SECURITY_PROTOCOL"]["value"] == "SASL_SSL", workload["metadata"]["name"]
        mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
        assert str(Path(env["MPP_KAFKA__SSL_CAFILE"]["value"]).parent) in mounts


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_the_chart_provisions_the_principals_before_every_install_and_upgrade(values: Path | None) -> None:
    docs = manifests(render_chart(values))
    (job,) = [
        job for job in of_kind(docs, "Job") if job["spec"]["template"]["spec"]["containers"][0]["args"][:2] == ["kafka", "principals"]
    ]
    assert set(job["metadata"]["annotations"]["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    spec = job["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["args"][:4] == PROVISIONING
    # Signed in as the cluster's admin, both name and password from a Secret.
    env = _env(container)
    assert env["MPP_KAFKA__USERNAME"]["valueFrom"]["secretKeyRef"]["name"] == "mpp-hub-kafka-admin"
    assert env["MPP_KAFKA__PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "mpp-hub-kafka-admin"
    # Every principal's password: the principals Secret, mounted where --passwords reads it.
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == container["args"][4]]
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == "mpp-hub-kafka-principals"
    # No other pod sees another principal's password.
    for workload, other in containers(docs):
        if other is not container:
            assert all(
                "secret" not in v or v["secret"]["secretName"] != "mpp-hub-kafka-principals"
                for v in workload["spec"]["template"]["spec"]["volumes"]
            )


def test_keda_reads_an_adapters_lag_signed_in_as_that_adapter() -> None:
    docs = manifests(render_chart(PRODUCTION_VALUES))
    authentications = {doc["metadata"]["name"]: doc["spec"] for doc in of_kind(docs, "TriggerAuthentication")}
    scaled = of_kind(docs, "ScaledObject")
    assert scaled
    for doc in scaled:
        (trigger,) = doc["spec"]["triggers"]
        assert (trigger["metadata"]["sasl"], trigger["metadata"]["tls"]) == ("scram_sha512", "enable")
        agency = trigger["metadata"]["topic"].removeprefix("mpp.commands.")
        auth = authentications[trigger["authenticationRef"]["name"]]
        (password,) = [ref for ref in auth["secretTargetRef"] if ref["parameter"] == "password"]
        assert password["key"] == adapter_principal_name(agency)


# --------------------------------------------------------------------------- Compose


def test_the_compose_brokers_authenticate_every_listener_and_deny_without_an_acl(compose_all: dict[str, Any]) -> None:
    brokers = {
        name: service
        for name, service in compose_all["services"].items()
        if name.startswith("kafka-") and "KAFKA_NODE_ID" in service.get("environment", {})
    }
    assert len(brokers) == 3
    for name, broker in brokers.items():
        env = broker["environment"]
        protocols = {pair.split(":")[1] for pair in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")}
        assert protocols == {"SASL_PLAINTEXT"}, name
        assert env["KAFKA_LISTENER_NAME_CLIENT_SASL_ENABLED_MECHANISMS"].split(",")[0] == "SCRAM-SHA-512"
        assert env["KAFKA_AUTHORIZER_CLASS_NAME"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
        assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
        assert env["KAFKA_SUPER_USERS"] == f"User:{COMPOSE_ADMIN}"
        # The admin's password is a Compose secret, read through Kafka's config provider.
        assert [s["source"] for s in broker["secrets"]] == ["kafka-admin"]
        assert "${dir:/run/secrets:kafka-admin}" in env["KAFKA_LISTENER_NAME_CONTROLLER_PLAIN_SASL_JAAS_CONFIG"].replace("$$", "$")
        assert "--command-config" in broker["healthcheck"]["test"][1]


def test_every_compose_process_signs_in_as_its_own_principal_with_its_own_secret(compose_services: dict[str, dict[str, Any]]) -> None:
    for name, service in compose_services.items():
        command, env = service["command"], service["environment"]
        given = [s["source"] for s in service.get("secrets", [])]
        if command[0] == "simulator":
            assert given == [] and "MPP_KAFKA__USERNAME" not in env, f"{name}: an agency's stand-in is not on the bus"
            continue
        if command[:2] == ["kafka", "principals"]:
            continue  # below
        assert env["MPP_KAFKA__SECURITY_PROTOCOL"].startswith("SASL"), name
        assert env["MPP_KAFKA__SASL_MECHANISM"] == "SCRAM-SHA-512", name
        principal = principal_of(command)
        assert env["MPP_KAFKA__USERNAME"] == principal, name
        assert given == [principal], f"{name} is given another principal's password"
        assert env["MPP_KAFKA__PASSWORD_FILE"] == f"/run/secrets/{principal}", name
        assert "MPP_KAFKA__PASSWORD" not in env, name


def test_compose_provisions_every_principal_once_before_the_hub_starts(compose_services: dict[str, dict[str, Any]]) -> None:
    (name,) = [name for name, service in compose_services.items() if service["command"][:2] == ["kafka", "principals"]]
    service = compose_services[name]
    assert service["command"][:4] == PROVISIONING and service["restart"] == "no"
    env = service["environment"]
    assert (env["MPP_KAFKA__USERNAME"], env["MPP_KAFKA__PASSWORD_FILE"]) == (COMPOSE_ADMIN, "/run/secrets/kafka-admin")
    assert {s["source"] for s in service["secrets"]} == every_principal() | {"kafka-admin"}
    assert service["command"][4] == "/run/secrets"
    for other, process in compose_services.items():
        if process["command"][0] in {"api", "relay", "router", "adapter"}:
            assert process["depends_on"][name]["condition"] == "service_completed_successfully", other


def test_compose_bus_passwords_are_secret_files_outside_the_repository(compose_all: dict[str, Any]) -> None:
    folder = DEPLOY / "compose" / "secrets"
    declared = compose_all["secrets"]
    assert set(declared) == every_principal() | {"kafka-admin"}
    for name, secret in declared.items():
        assert Path(secret["file"]) == folder / name
    assert "/deploy/compose/secrets/" in (REPO / ".gitignore").read_text().splitlines()


def test_no_development_bus_password_ships_with_a_deployment() -> None:
    files = [
        COMPOSE_FILE,
        ENV_EXAMPLE,
        PRODUCTION_VALUES,
        *CHART.rglob("*.yaml"),
        *CHART.rglob("*.tpl"),
        *(DEPLOY / "compose").rglob("*.properties"),
    ]
    assert [str(path) for path in files if DEV_PASSWORD in path.read_text()] == []


def test_the_production_check_accepts_each_compose_process_with_its_secrets(
    compose_services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The documented env file plus what Compose gives each process (its principal, its
    password file, holding what the operator generated): nothing production refuses."""
    production = pytest.importorskip("hub.production")
    checked = 0
    for name, service in compose_services.items():
        command = service["command"]
        if command[0] not in {"api", "relay", "router", "adapter"}:
            continue
        secret = tmp_path / principal_of(command)
        secret.write_text(secrets.token_hex(32) + "\n")
        with monkeypatch.context() as patch:
            for variable, value in {**env_file(), **service["environment"]}.items():
                patch.setenv(variable, str(value))
            patch.setenv("MPP_KAFKA__PASSWORD_FILE", str(secret))
            agency = command[1] if command[0] == "adapter" else None
            assert production.production_problems(Settings(_env_file=None), agency) == [], name
        checked += 1
    assert checked == 3 + len(discovery.available())
