"""Every environment variable the chart and the Compose stack set is a setting the hub
or an agency plug-in really reads: a misspelt name would otherwise do nothing, silently.
The documented env file is one production mode accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from adapters.sdk import discovery
from hub.config import Settings
from support.deployment import (
    INFRASTRUCTURE_VARIABLES,
    PRODUCTION_VALUES,
    compose_config,
    containers,
    env_file,
    hub_services,
    manifests,
    render_chart,
    setting_problem,
)

VALUES = {"default values": None, "production values": PRODUCTION_VALUES}


@pytest.mark.parametrize(
    "name",
    [
        "MPP_KAFKA__BOOTSRAP",  # typo in a field
        "MPP_KAFKA__BOOTSTRAP__HOST",  # too deep
        "MPP_DATABASE",  # no such top-level field
        "MPP_AGENCIES__SAMSAT__API_KEY",  # Samsat's model has no api_key
        "MPP_AGENCIES__KELURAHAN__BASE_URL",  # no such agency installed
        "MPP_AGENCIES__POLRI",  # no field
        "MPP_DATABASE_URL__HOST",  # not a section
        "DATABASE_URL",  # not ours
    ],
)
def test_the_name_check_refuses_what_the_hub_would_ignore(name: str) -> None:
    assert setting_problem(name) is not None


@pytest.mark.parametrize(
    "name",
    ["MPP_DATABASE_URL", "MPP_KAFKA__BOOTSTRAP", "mpp_api__clients", "MPP_AGENCIES__POLRI__CALLBACK_SECRET", "MPP_AGENCIES__OSS__USER_KEY"],
)
def test_the_name_check_accepts_real_settings(name: str) -> None:
    assert setting_problem(name) is None


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_every_variable_the_chart_sets_is_a_setting(values: Path | None) -> None:
    names = {env["name"] for _, container in containers(manifests(render_chart(values))) for env in container.get("env", [])}
    assert names, "the chart sets no environment at all"
    assert [problem for name in sorted(names) if (problem := setting_problem(name))] == []


def test_every_variable_compose_sets_is_a_setting() -> None:
    services = hub_services(compose_config(profiles=("simulators",)))
    names = {name for service in services.values() for name in service.get("environment", {})}
    assert "MPP_KAFKA__BOOTSTRAP" in names
    problems = [problem for name in sorted(names - INFRASTRUCTURE_VARIABLES) if (problem := setting_problem(name))]
    assert problems == []


def test_the_env_example_names_only_settings_and_the_infrastructure_accounts() -> None:
    names = set(env_file())
    assert names >= INFRASTRUCTURE_VARIABLES
    assert [problem for name in sorted(names - INFRASTRUCTURE_VARIABLES) if (problem := setting_problem(name))] == []


def test_the_env_example_connects_every_agency_the_stack_runs() -> None:
    """Compose runs an adapter per installed agency; each gets its backend from the env file."""
    names = set(env_file())
    assert {agency for agency in discovery.available() if f"MPP_AGENCIES__{agency.upper()}__BASE_URL" in names} == set(
        discovery.available()
    )


def test_numeric_credentials_survive_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """BPJS consumer ids are numbers, and so may be a client id or a password: the
    environment hands them over JSON-decoded, the settings take them as the same text."""
    monkeypatch.setenv("MPP_AGENCIES__BPJS_KESEHATAN__CONS_ID", "10101")
    monkeypatch.setenv("MPP_AGENCIES__OSS__PASSWORD", "123456")
    settings = Settings(_env_file=None)
    assert settings.agencies["bpjs_kesehatan"].cons_id == "10101"  # type: ignore[attr-defined]
    assert settings.agencies["oss"].password.get_secret_value() == "123456"  # type: ignore[attr-defined]


def test_production_mode_accepts_the_env_example(monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented example loads in production mode and replaces every development secret."""
    example = env_file()
    assert example["MPP_ENV"] == "production"
    for name, value in example.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert not set(settings.api.clients) & {"dev-portal-key"}
    assert not set(settings.api.operator_keys) & {"dev-operator-key"}
    for agency, plugin in discovery.installed().items():
        backend = settings.agencies[agency]
        assert not str(backend.base_url).startswith("http://127.0.0.1"), f"{agency} still points at its simulator"
        for field, dev_value in plugin.dev.settings.items():
            value = getattr(backend, field)
            if isinstance(value, SecretStr):
                assert value.get_secret_value() != dev_value, f"{agency}'s {field} is its development secret"
    url = make_url(settings.database_url)
    assert url.password == example["POSTGRES_PASSWORD"]
    assert (url.username, url.database) == (example["POSTGRES_USER"], example["POSTGRES_DB"])


def test_the_production_check_finds_nothing_to_refuse_in_the_env_example(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub's own production check (hub/production.py, from the production-mode work)
    over the documented example: every problem it would list, none expected but the bus
    identity, which Compose gives each process apart (tests/deploy/test_deploy_bus.py)."""
    production = pytest.importorskip("hub.production", reason="hub/production.py (production mode) is not on this branch yet")
    for name, value in env_file().items():
        monkeypatch.setenv(name, value)
    assert [p for p in production.production_problems(Settings(_env_file=None)) if not p.startswith("MPP_KAFKA__")] == []
