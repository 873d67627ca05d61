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

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    model_config = SettingsConfigDict(env_prefix="MPP_", env_nested_delimiter="__", env_file=".env", extra="ignore")

    database_url: str = Field(default=f"sqlite+aiosqlite:///{VAR_DIR}/mpp-hub.db")
    # The service catalogue: a TOML file or a directory of them; None = the built-in one.
    # Re-pointing a service to another provider is an edit here, not a code change.
    catalogue_path: Path | None = None
    log_level: str = "INFO"

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    relay: RelaySettings = Field(default_factory=RelaySettings)
    dlq: DeadLetterSettings = Field(default_factory=DeadLetterSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    sla: SlaSettings = Field(default_factory=SlaSettings)

    # Each agency backend; the defaults point at the local simulators (`mpp-hub dev`).
    agencies: dict[str, BackendSettings] = Field(default_factory=lambda: _dev_agencies())
    simulator_ports: dict[str, int] = Field(default_factory=lambda: dict(DEV_SIMULATOR_PORTS))


DEV_SIMULATOR_PORTS = {"samsat": 8101, "polri": 8102, "imigrasi": 8103, "djp": 8104, "kemenag": 8105, "bpjph": 8106}

# Development secrets of the local simulators; production sets its own through MPP_AGENCIES__*.
_DEV_EXTRAS: dict[str, dict[str, str]] = {
    "polri": {"callback_base_url": "http://127.0.0.1:8000", "callback_secret": "dev-polri-callback-secret"},
    "djp": {"oauth_client_id": "mpp-hub", "oauth_client_secret": "dev-djp-client-secret"},
    "kemenag": {"timeout_seconds": "20"},
    "imigrasi": {"poll_interval_seconds": "5"},  # real counters poll every 30 s; quicker for a local demo
    "bpjph": {"api_key": "dev-bpjph-api-key", "poll_interval_seconds": "5"},
}


def _dev_agencies() -> dict[str, BackendSettings]:
    return {
        agency: BackendSettings.model_validate({"base_url": f"http://127.0.0.1:{port}", **_DEV_EXTRAS.get(agency, {})})
        for agency, port in DEV_SIMULATOR_PORTS.items()
    }


def load_catalogue(settings: Settings) -> Catalogue:
    return Catalogue.load(settings.catalogue_path) if settings.catalogue_path else Catalogue.load()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
