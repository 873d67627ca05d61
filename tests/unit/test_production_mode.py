"""Production mode: closed by default, refusing to start with a laptop's configuration.

``MPP_ENV`` defaults to production; only ``mpp-hub dev`` and ``make run`` choose
development. Every problem is listed at once, naming the setting and never its value.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.sdk.settings import BackendSettings
from hub.config import Settings
from hub.production import ProductionRefused, ensure_production_ready, production_problems
from messaging.settings import DEV_PASSWORD, DEV_USERNAME

STRONG = "s" * 40
PG = "postgresql+asyncpg://hub:pw@db.internal/mpphub"
BUS = {"security_protocol": "SASL_SSL", "username": "mpp-hub", "password": "k" * 40}
MASTER_KEY = "bWFzdGVyLWtleS1vZi10aGUtaHViLTMyLWJ5dGVzISE="  # base64 of 32 bytes
PRIVACY = {"master_keys": {"2026-12": MASTER_KEY}, "audit_signing_key": "a" * 44, "nik_index_key": "n" * 44}


def strong(**changes: Any) -> Settings:
    """A configuration fit for production: PostgreSQL, https agencies, long non-dev secrets,
    the bus signed in as the process's own principal."""
    agencies: dict[str, Any] = {
        "samsat": {"base_url": "https://samsat.example"},
        "polri": {"base_url": "https://polri.example", "callback_base_url": "https://hub.example", "callback_secret": "p" * 40},
    }
    values: dict[str, Any] = {
        "database_url": PG,
        "enabled_agencies": ["samsat", "polri"],
        "agencies": agencies,
        "api": {"clients": {"c" * 40: "portal"}, "operator_keys": {"o" * 40: "ops"}},
        "kafka": BUS,
        "privacy": PRIVACY,
        **changes,
    }
    return Settings.model_validate(values)


def test_production_is_the_default() -> None:
    assert Settings().env == "production"
    assert Settings().webhooks.https_only is True
    assert Settings(env="development").webhooks.https_only is False


def test_a_configuration_fit_for_production_has_no_problems() -> None:
    assert production_problems(strong()) == []
    ensure_production_ready(strong())


def test_the_defaults_are_refused_listing_every_problem_at_once() -> None:
    problems = production_problems(Settings())
    text = "\n".join(problems)
    assert "MPP_API__CLIENTS (key #1, client 'portal') is a development value" in problems
    assert "MPP_API__OPERATOR_KEYS (key #1, operator 'operator') is a development value" in problems
    assert "MPP_AGENCIES__POLRI__CALLBACK_SECRET is a development value" in problems
    assert "MPP_AGENCIES__DJP__OAUTH_CLIENT_SECRET is a development value" in problems
    assert "MPP_AGENCIES__BPJPH__API_KEY is a development value" in problems
    assert "MPP_AGENCIES__SAMSAT__BASE_URL is plain http://; production needs https://" in problems
    assert any(p.startswith("MPP_DATABASE_URL is SQLite") for p in problems)
    assert "MPP_KAFKA__PASSWORD is a development value" in problems
    assert any(p.startswith("MPP_KAFKA__USERNAME is the development broker's admin") for p in problems)
    # Names, never values: not one secret is echoed.
    for secret in ("dev-portal-key", "dev-operator-key", "dev-polri-callback-secret", "dev-djp-client-secret", DEV_PASSWORD):
        assert secret not in text


def test_cases_are_never_sealed_under_a_generated_master_key() -> None:
    problems = production_problems(strong(privacy={**PRIVACY, "master_keys": {}}))
    assert problems == ["MPP_PRIVACY__MASTER_KEYS (or _FILE) is not set; production never seals cases under a generated development key"]
    assert problems[0] in production_problems(Settings())


def test_audit_checkpoints_and_the_nik_index_never_use_generated_keys() -> None:
    problems = production_problems(strong(privacy={"master_keys": {"2026-12": MASTER_KEY}}))
    assert problems == [
        "MPP_PRIVACY__AUDIT_SIGNING_KEY (or _FILE) is not set; production never signs audit checkpoints with a generated development key",
        "MPP_PRIVACY__NIK_INDEX_KEY (or _FILE) is not set; production never indexes NIKs under a generated development key",
    ]
    assert set(problems) <= set(production_problems(Settings()))
    key_files = {"audit_signing_key_file": "/run/secrets/audit.key", "nik_index_key_file": "/run/secrets/nik.key"}
    assert production_problems(strong(privacy={"master_keys": {"2026-12": MASTER_KEY}, **key_files})) == []


def test_setting_clients_does_not_leave_the_dev_operator_key_working_unnoticed() -> None:
    settings = strong(api={"clients": {"c" * 40: "portal"}})  # operator_keys left at its default
    assert production_problems(settings) == ["MPP_API__OPERATOR_KEYS (key #1, operator 'operator') is a development value"]


@pytest.mark.parametrize(
    ("key", "problem"),
    [("short-key", "is shorter than 32 bytes"), ("   ", "is empty"), ("dev-" + "x" * 40, "is a development value")],
)
def test_weak_keys_are_refused(key: str, problem: str) -> None:
    settings = strong(api={"clients": {key: "portal"}, "operator_keys": {"o" * 40: "ops"}})
    assert production_problems(settings) == [f"MPP_API__CLIENTS (key #1, client 'portal') {problem}"]


def test_weak_agency_secrets_are_refused_whatever_their_name() -> None:
    settings = strong(
        agencies={
            "samsat": {"base_url": "https://samsat.example"},
            "polri": {"base_url": "https://polri.example", "callback_base_url": "https://hub.example", "callback_secret": "short"},
        }
    )
    assert production_problems(settings) == ["MPP_AGENCIES__POLRI__CALLBACK_SECRET is shorter than 32 bytes"]


def test_settings_named_like_credentials_but_not_secrets_are_not_judged_as_secrets() -> None:
    """DJP's token path and refresh margin, OSS's refresh margin: ordinary values, whatever their names."""
    djp = {
        "base_url": "https://djp.example",
        "oauth_client_id": "mpp-padang",
        "oauth_client_secret": "d" * 40,
        "oauth_token_path": "/oauth/token",
        "token_refresh_margin_seconds": 30,
    }
    settings = strong(enabled_agencies=["djp"], agencies={"djp": djp})
    assert production_problems(settings) == []
    weak = strong(enabled_agencies=["djp"], agencies={"djp": {**djp, "oauth_client_secret": "short"}})
    assert production_problems(weak) == ["MPP_AGENCIES__DJP__OAUTH_CLIENT_SECRET is shorter than 32 bytes"]


def test_plain_http_agencies_private_webhooks_and_http_webhooks_are_refused() -> None:
    settings = strong(
        agencies={
            "samsat": {"base_url": "http://samsat.example"},
            "polri": {"base_url": "https://polri.example", "callback_base_url": "http://hub.example", "callback_secret": "p" * 40},
        },
        webhooks={"allow_private_targets": True, "https_only": False},
    )
    assert production_problems(settings) == [
        "MPP_AGENCIES__POLRI__CALLBACK_BASE_URL is plain http://; production needs https://",
        "MPP_AGENCIES__SAMSAT__BASE_URL is plain http://; production needs https://",
        "MPP_WEBHOOKS__ALLOW_PRIVATE_TARGETS is true; webhooks to private addresses are for development only",
        "MPP_WEBHOOKS__HTTPS_ONLY is false; production sends webhooks over https only",
    ]


def test_the_bus_without_sasl_is_refused() -> None:
    """Anything that reaches an unauthenticated broker could write another agency's reports."""
    for protocol in ("PLAINTEXT", "SSL"):
        settings = strong(kafka={"security_protocol": protocol, "username": None, "password": None})
        assert production_problems(settings) == [
            f"MPP_KAFKA__SECURITY_PROTOCOL is {protocol}; production signs in to the bus with SASL (SASL_SSL)"
        ]


@pytest.mark.parametrize(
    ("password", "problem"),
    [(DEV_PASSWORD, "is a development value"), ("short", "is shorter than 32 bytes"), ("dev-" + "k" * 40, "is a development value")],
)
def test_a_weak_bus_password_is_refused(password: str, problem: str) -> None:
    settings = strong(kafka={**BUS, "password": password})
    assert production_problems(settings) == [f"MPP_KAFKA__PASSWORD {problem}"]


def test_a_process_signed_in_as_the_development_admin_is_refused() -> None:
    settings = strong(kafka={**BUS, "username": DEV_USERNAME})
    assert production_problems(settings) == [
        "MPP_KAFKA__USERNAME is the development broker's admin; each process signs in as its own principal"
    ]


def test_sasl_over_plaintext_is_accepted_with_strong_credentials() -> None:
    """TLS is advised (docs/deploy.md), not demanded: a private network may carry SASL_PLAINTEXT."""
    assert production_problems(strong(kafka={**BUS, "security_protocol": "SASL_PLAINTEXT"})) == []


def test_an_adapter_process_is_judged_by_its_own_agency_alone() -> None:
    settings = strong(api={})  # the hub's dev API keys: the adapter never uses them
    assert production_problems(settings, "samsat") == []
    weak = strong(
        agencies={
            "samsat": {"base_url": "https://samsat.example"},
            "polri": {"base_url": "http://polri.example", "callback_base_url": "https://hub.example", "callback_secret": "short"},
        }
    )
    assert production_problems(weak, "samsat") == []
    assert production_problems(weak, "polri") == [
        "MPP_AGENCIES__POLRI__CALLBACK_SECRET is shorter than 32 bytes",
        "MPP_AGENCIES__POLRI__BASE_URL is plain http://; production needs https://",
    ]


def test_an_adapter_process_is_judged_by_its_bus_credentials_too() -> None:
    settings = strong(kafka={**BUS, "username": "mpp-adapter-samsat", "password": "short"})
    assert production_problems(settings, "samsat") == ["MPP_KAFKA__PASSWORD is shorter than 32 bytes"]


def test_development_mode_starts_with_the_dev_defaults() -> None:
    ensure_production_ready(Settings(env="development"))
    with pytest.raises(ProductionRefused) as refused:
        ensure_production_ready(Settings())
    assert refused.value.problems == production_problems(Settings())
    assert "MPP_ENV=development" in str(refused.value)


def test_a_blank_callback_secret_is_refused_even_in_development() -> None:
    with pytest.raises(ValidationError):
        BackendSettings.model_validate({"base_url": "http://samsat.test", "callback_secret": ""})
    with pytest.raises(ValidationError, match="MPP_AGENCIES__SAMSAT__CALLBACK_SECRET"):
        Settings(env="development", agencies={"samsat": {"callback_secret": "  "}})


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MPP_")}
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], env={**clean, **env}, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_hub_process_refuses_to_start_with_the_defaults() -> None:
    result = _cli("relay")
    assert result.returncode == 2, result.stderr
    assert "refusing to start in production mode" in result.stderr
    assert "MPP_API__OPERATOR_KEYS" in result.stderr and "MPP_DATABASE_URL is SQLite" in result.stderr
    assert "dev-operator-key" not in result.stderr


def test_an_adapter_process_refuses_only_for_its_own_agency() -> None:
    result = _cli("adapter", "samsat")
    assert result.returncode == 2, result.stderr
    assert "MPP_AGENCIES__SAMSAT__BASE_URL is plain http://" in result.stderr
    assert "MPP_KAFKA__PASSWORD is a development value" in result.stderr
    assert "MPP_API__" not in result.stderr and "POLRI" not in result.stderr
