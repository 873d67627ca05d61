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

STRONG = "s" * 40
PG = "postgresql+asyncpg://hub:pw@db.internal/mpphub"


def strong(**changes: Any) -> Settings:
    """A configuration fit for production: PostgreSQL, https agencies, long non-dev secrets."""
    agencies: dict[str, Any] = {
        "samsat": {"base_url": "https://samsat.example"},
        "polri": {"base_url": "https://polri.example", "callback_base_url": "https://hub.example", "callback_secret": "p" * 40},
    }
    values: dict[str, Any] = {
        "database_url": PG,
        "enabled_agencies": ["samsat", "polri"],
        "agencies": agencies,
        "api": {"clients": {"c" * 40: "portal"}, "operator_keys": {"o" * 40: "ops"}},
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
    # Names, never values: not one secret is echoed.
    for secret in ("dev-portal-key", "dev-operator-key", "dev-polri-callback-secret", "dev-djp-client-secret"):
        assert secret not in text


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
    assert "MPP_API__" not in result.stderr and "POLRI" not in result.stderr
