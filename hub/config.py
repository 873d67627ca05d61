"""One typed settings object for every hub process.

Read from the environment (prefix ``MPP_``, nested with ``__``) or a ``.env`` file,
so the same binary runs on a laptop with SQLite and in production on PostgreSQL
without code changes. Example: ``MPP_DATABASE_URL=postgresql+asyncpg://...``,
``MPP_AGENCIES__SAMSAT__BASE_URL=http://samsat.internal``.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters.sdk import discovery
from adapters.sdk.plugin import AgencyPlugin, AgencySettingsInvalid
from adapters.sdk.settings import BackendSettings
from hub.catalogue import Catalogue
from messaging.settings import KafkaSettings
from schemas.calendar import DEFAULT_TIMEZONE, DEFAULT_WEEKEND

VAR_DIR = Path("var")


class ApiSettings(BaseModel):
    """The portal and operator API (``MPP_API__HOST``, ``MPP_API__CLIENTS``, ...)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Bearer token -> portal client id. Idempotency keys and case visibility are scoped per client.
    clients: dict[str, str] = Field(default_factory=lambda: {"dev-portal-key": "portal"})
    # Operator bearer key -> operator name: dead letters, adapter status. Never a portal key.
    operator_keys: dict[str, str] = Field(default_factory=lambda: {"dev-operator-key": "operator"})
    # Signs the console's session cookies; unset = a random key per API process (sessions
    # end when it restarts, and several API replicas need one shared value).
    console_secret: SecretStr | None = None
    console_session_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60)
    # Interactive docs (/docs, /redoc) and /openapi.json; MPP_API__DOCS=false hides them.
    docs: bool = True
    # Largest request body accepted on any route, counted before it is read (413 beyond).
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    # Requests per principal (bearer key's owner) and per source address in one window;
    # the counters live in the database, so they hold across several API processes.
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    rate_limit_per_principal: int = Field(default=1200, ge=1)
    rate_limit_per_address: int = Field(default=1200, ge=1)
    # Open server-sent event streams one portal client may hold (each polls the database).
    max_event_streams_per_client: int = Field(default=20, ge=1)

    @property
    def local_url(self) -> str:
        """Where processes on this machine reach the API (agencies' dev callbacks go here)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


class RelaySettings(BaseModel):
    """The outbox relay (``MPP_RELAY__BATCH_SIZE``, ...)."""

    batch_size: int = Field(default=500, ge=1)
    poll_seconds: float = Field(default=0.02, gt=0)


class DeadLetterSettings(BaseModel):
    """Dead-letter replays (``MPP_DLQ__MAX_REPLAYS``)."""

    # Loop guard: a record already replayed this many times that dead-letters again is quarantined.
    max_replays: int = Field(default=3, ge=1)


class WebhookSettings(BaseModel):
    """Portal webhooks (``MPP_WEBHOOKS__TIMEOUT_SECONDS``, ...)."""

    # Private/loopback/link-local targets only for development (SSRF guard).
    allow_private_targets: bool = False
    # Only https:// targets; unset = https only in production, http allowed in development.
    https_only: bool | None = None
    timeout_seconds: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=12, ge=1)
    backoff_base_seconds: float = Field(default=1.0, gt=0)
    backoff_cap_seconds: float = Field(default=3600.0, gt=0)
    poll_seconds: float = Field(default=0.5, gt=0)


class SlaSettings(BaseModel):
    """SLA timers: deadlines count working days in the MPP's local time zone (``MPP_SLA__...``)."""

    timezone: str = DEFAULT_TIMEZONE
    weekend_days: list[int] = Field(default_factory=lambda: sorted(DEFAULT_WEEKEND))  # Monday = 0
    holidays_path: Path | None = None  # None = the list shipped in schemas/holidays.toml
    include_cuti_bersama: bool = True  # collective leave days are non-working at MPP counters
    extra_holidays: list[date] = Field(default_factory=list)  # regional holidays, e.g. MPP_SLA__EXTRA_HOLIDAYS='["2026-12-03"]'
    scan_seconds: float = Field(default=1.0, gt=0)


class Settings(BaseSettings):
    # Errors name the setting, never its value: values include secrets and passwords.
    model_config = SettingsConfigDict(
        env_prefix="MPP_", env_nested_delimiter="__", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    # production (the default) refuses to start with dev secrets, SQLite, plain http, ...
    # (hub/production.py); `mpp-hub dev` and `make run` set development.
    env: Literal["development", "production"] = "production"
    database_url: str = Field(default=f"sqlite+aiosqlite:///{VAR_DIR}/mpp-hub.db")
    # The service catalogue: a TOML file or a directory of them; None = the built-in one.
    # Re-pointing a service to another provider is an edit here, not a code change.
    catalogue_path: Path | None = None
    log_level: str = "INFO"
    # Port of /metrics, /livez and /readyz on processes other than the API (which serves
    # them itself); None = not served. `mpp-hub dev` serves one registry for all roles.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # MPP_LOG_FORMAT=json: one JSON object per line (with case, correlation and trace ids).
    log_format: Literal["text", "json"] = "text"

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    relay: RelaySettings = Field(default_factory=RelaySettings)
    dlq: DeadLetterSettings = Field(default_factory=DeadLetterSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    sla: SlaSettings = Field(default_factory=SlaSettings)

    # Loopback port of each agency's simulator (`mpp-hub dev`, `mpp-hub simulator`): each
    # plug-in's default unless set here, e.g. MPP_SIMULATOR_PORTS='{"samsat": 9101}'.
    simulator_ports: dict[str, int] = Field(default_factory=dict, validate_default=True)
    # Which installed agencies are connected (their services accepted, their adapters run
    # by `mpp-hub dev`); None = every installed one. E.g. MPP_ENABLED_AGENCIES='["samsat"]'.
    enabled_agencies: list[str] | None = None
    # Each connected agency's backend: its plug-in's development defaults (its own
    # simulator and that simulator's dev secrets), each field replaceable on its own,
    # e.g. MPP_AGENCIES__SAMSAT__BASE_URL=https://samsat.example changes only base_url.
    # Validated by the agency's settings model.
    agencies: dict[str, BackendSettings] = Field(default_factory=dict, validate_default=True)

    @model_validator(mode="after")
    def _https_only_follows_env(self) -> Settings:
        if self.webhooks.https_only is None:
            self.webhooks.https_only = self.env == "production"
        return self

    @field_validator("simulator_ports", mode="before")
    @classmethod
    def _plugin_ports(cls, value: Any) -> Any:
        installed = discovery.installed()
        chosen = dict(value or {})
        _refuse_unknown(chosen, installed, "MPP_SIMULATOR_PORTS")
        return {**{name: plugin.dev.port for name, plugin in installed.items()}, **chosen}

    @field_validator("enabled_agencies")
    @classmethod
    def _known_agencies(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            _refuse_unknown(dict.fromkeys(value), discovery.installed(), "MPP_ENABLED_AGENCIES")
        return value

    @field_validator("agencies", mode="before")
    @classmethod
    def _plugin_backends(cls, value: Any, info: ValidationInfo) -> dict[str, BackendSettings]:
        """Each connected agency: its dev defaults, then only the fields set here replaced."""
        installed = discovery.installed()
        overrides = {str(name).lower(): _set_fields(fields) for name, fields in dict(value or {}).items()}
        _refuse_unknown(overrides, installed, "MPP_AGENCIES__<AGENCY>__*")
        enabled = info.data.get("enabled_agencies")
        ports: dict[str, int] = info.data.get("simulator_ports", {})
        api: ApiSettings = info.data.get("api", ApiSettings())
        backends: dict[str, BackendSettings] = {}
        problems: list[str] = []
        for name, plugin in installed.items():
            if enabled is not None and name not in enabled:
                continue
            try:
                backends[name] = plugin.backend_settings(
                    plugin.dev_settings(ports.get(name, plugin.dev.port), api.local_url), overrides.get(name, {})
                )
            except AgencySettingsInvalid as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError("; ".join(problems))
        return backends


def _set_fields(fields: Any) -> dict[str, Any]:
    """An override as the fields it sets (a model passed in code counts its explicitly set fields)."""
    if isinstance(fields, BaseModel):
        return fields.model_dump(exclude_unset=True)
    return dict(fields)


def _refuse_unknown(named: dict[str, Any], installed: dict[str, AgencyPlugin], setting: str) -> None:
    unknown = sorted(set(named) - set(installed))
    if unknown:
        listing = ", ".join(sorted(installed)) or "none"
        raise ValueError(f"{setting} names {unknown}, which no installed agency plug-in provides (installed: {listing})")


def load_catalogue(settings: Settings) -> Catalogue:
    return Catalogue.load(settings.catalogue_path)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
