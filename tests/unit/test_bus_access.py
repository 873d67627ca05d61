"""Who may do what on the bus: the roles' ACLs and how clients sign in."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from deploy.kafka.local_kafka import DEV_ADMIN
from hub.features.adapter_status import GROUP_ID as STATUS_GROUP
from hub.features.deadletters.archive import GROUP_ID as ARCHIVE_GROUP
from hub.runtime.router import GROUP_ID as ROUTER_GROUP
from messaging import KafkaSettings
from messaging.access import (
    HUB_GROUPS,
    AccessError,
    Grant,
    Op,
    Pattern,
    Resource,
    adapter_principal,
    credential_mechanism,
    hub_principal,
    passwords_of,
    principals,
)
from messaging.settings import DEV_PASSWORD, DEV_USERNAME
from schemas import topics


def allowed(grants: tuple[Grant, ...], resource: Resource, name: str, op: Op) -> bool:
    """What Kafka's authorizer would say for one operation, given these ALLOW grants."""
    return any(
        g.resource is resource and op in g.operations and (name == g.name if g.pattern is Pattern.LITERAL else name.startswith(g.name))
        for g in grants
    )


def test_an_adapter_reads_only_its_own_commands_and_retry_levels() -> None:
    grants = adapter_principal("samsat", retry_levels=2).grants
    for topic in ("mpp.commands.samsat", "mpp.retry.samsat.1", "mpp.retry.samsat.2"):
        assert allowed(grants, Resource.TOPIC, topic, Op.READ), topic
    for topic in (
        "mpp.commands.polri",
        "mpp.retry.polri.1",
        "mpp.retry.samsat.3",
        topics.REQUESTS,
        topics.events("samsat"),
        topics.DEADLETTER,
    ):
        assert not allowed(grants, Resource.TOPIC, topic, Op.READ), topic


def test_an_adapter_writes_only_its_own_reports_dead_letters_and_status() -> None:
    grants = adapter_principal("samsat", retry_levels=1).grants
    for topic in (topics.events("samsat"), topics.DEADLETTER, topics.ADAPTER_STATUS, "mpp.retry.samsat.1"):
        assert allowed(grants, Resource.TOPIC, topic, Op.WRITE), topic
    for topic in (topics.events("polri"), topics.REQUESTS, topics.commands("samsat"), topics.commands("polri"), topics.CASE_EVENTS):
        assert not allowed(grants, Resource.TOPIC, topic, Op.WRITE), topic


def test_an_adapter_joins_only_its_own_groups() -> None:
    grants = adapter_principal("samsat", retry_levels=1).grants
    assert allowed(grants, Resource.GROUP, "mpp-adapter-samsat", Op.READ)
    assert allowed(grants, Resource.GROUP, "mpp-adapter-samsat-retry-1", Op.READ)
    for group in ("mpp-adapter-polri", "mpp-router", "mpp-adapter-status", "mpp-adapter-samsat-retry-2"):
        assert not allowed(grants, Resource.GROUP, group, Op.READ), group


def test_the_hub_joins_the_groups_its_processes_use() -> None:
    assert set(HUB_GROUPS) == {ROUTER_GROUP, ARCHIVE_GROUP, STATUS_GROUP}
    grants = hub_principal().grants
    assert all(allowed(grants, Resource.GROUP, group, Op.READ) for group in HUB_GROUPS)
    assert not allowed(grants, Resource.GROUP, "mpp-adapter-samsat", Op.READ), "the hub never consumes for an adapter"


def test_there_is_one_principal_per_role() -> None:
    assert [p.name for p in principals({"samsat": 3, "polri": 0})] == ["mpp-hub", "mpp-adapter-polri", "mpp-adapter-samsat"]


def test_clients_sign_in_with_scram_by_default_as_the_local_brokers_admin() -> None:
    options = KafkaSettings(bootstrap="b:9092").client_options()
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert (options["sasl_mechanism"], options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "SCRAM-SHA-512",
        DEV_USERNAME,
        DEV_PASSWORD,
    )
    assert (DEV_ADMIN.name, DEV_ADMIN.password) == (DEV_USERNAME, DEV_PASSWORD)


def test_tls_uses_a_verifying_context() -> None:
    options = KafkaSettings(security_protocol="SASL_SSL").client_options()
    assert options["ssl_context"].check_hostname is True


def test_sasl_without_credentials_is_refused() -> None:
    with pytest.raises(ValidationError, match="username and a password"):
        KafkaSettings(username=None)
    with pytest.raises(ValidationError, match="username and a password"):
        KafkaSettings(password="")


def test_the_password_is_never_shown() -> None:
    kafka = KafkaSettings().as_principal("mpp-adapter-samsat", "s3cret-password-of-samsat")
    assert "s3cret" not in repr(kafka) and "s3cret" not in str(kafka.model_dump())
    assert kafka.client_options()["sasl_plain_password"] == "s3cret-password-of-samsat"


def test_the_cli_lists_each_roles_principal_and_grants() -> None:
    from typer.testing import CliRunner

    from hub.cli import app

    result = CliRunner().invoke(app, ["kafka", "principals"])
    assert result.exit_code == 0, result.output
    assert "User:mpp-hub" in result.output and "User:mpp-adapter-samsat" in result.output
    assert "topic    mpp.events.samsat" in result.output


def test_the_password_may_come_from_a_secret_file(tmp_path: Path) -> None:
    """A Compose secret: only the process it is given to can read it."""
    secret = tmp_path / "mpp-adapter-samsat"
    secret.write_text("s" * 40 + "\n")
    kafka = KafkaSettings(username="mpp-adapter-samsat", password_file=secret)
    assert kafka.client_options()["sasl_plain_password"] == "s" * 40


def test_an_unreadable_password_file_is_refused_without_showing_anything(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="password_file .* cannot be read"):
        KafkaSettings(username="mpp-hub", password_file=tmp_path / "absent")
    (tmp_path / "blank").write_text("\n")
    with pytest.raises(ValidationError, match="needs a username and a password"):
        KafkaSettings(username="mpp-hub", password_file=tmp_path / "blank")


def test_a_plain_admin_provisions_scram_principals() -> None:
    """The Compose brokers' admin is a PLAIN user of their own configuration; the
    principals it creates sign in with SCRAM all the same."""
    assert credential_mechanism(KafkaSettings(sasl_mechanism="PLAIN")) == "SCRAM-SHA-512"
    assert credential_mechanism(KafkaSettings(sasl_mechanism="SCRAM-SHA-256")) == "SCRAM-SHA-256"


def test_a_deployments_passwords_are_read_from_one_file_per_principal(tmp_path: Path) -> None:
    wanted = principals({"samsat": 1})
    for principal in wanted:
        (tmp_path / principal.name).write_text(f"{principal.name}-{'x' * 32}\n")
    assert passwords_of(wanted, tmp_path) == {p.name: f"{p.name}-{'x' * 32}" for p in wanted}
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(p.name for p in wanted)  # nothing written


def test_a_deployment_missing_a_principals_password_is_refused_not_invented(tmp_path: Path) -> None:
    """Its process reads the same secret: a generated password would lock it out."""
    wanted = principals({"samsat": 1, "polri": 1})
    (tmp_path / "mpp-hub").write_text("h" * 40)
    (tmp_path / "mpp-adapter-polri").write_text("  \n")
    with pytest.raises(AccessError, match="mpp-adapter-polri, mpp-adapter-samsat"):
        passwords_of(wanted, tmp_path)


def test_a_development_password_file_gets_new_principals_and_keeps_the_old(tmp_path: Path) -> None:
    source = tmp_path / "var" / "kafka-principals.json"
    first = passwords_of(principals({"samsat": 1}), source)
    second = passwords_of(principals({"samsat": 1, "polri": 1}), source)
    assert second["mpp-hub"] == first["mpp-hub"] and second["mpp-adapter-samsat"] == first["mpp-adapter-samsat"]
    assert len(second["mpp-adapter-polri"]) >= 32
    assert json.loads(source.read_text()) == second
    assert stat.S_IMODE(source.stat().st_mode) == 0o600
