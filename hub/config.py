"""One typed settings object for every hub process.

Read from the environment (prefix ``MPP_``, nested with ``__``) or a ``.env`` file,
so the same binary runs on a laptop with SQLite and in production on PostgreSQL
without code changes. Example: ``MPP_DATABASE_URL=postgresql+asyncpg://...``,
``MPP_AGENCIES__SAMSAT__BASE_URL=http://samsat.internal``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, HttpUrl
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIR = Path("var")


class AgencySettings(BaseModel):
    """How an adapter reaches its agency's backend."""

    base_url: HttpUrl
    timeout_seconds: float = Field(default=10.0, gt=0)
    retry_attempts: int = Field(default=4, ge=1, le=10, description="In-process tries for transient errors.")
    retry_max_wait_seconds: float = Field(default=2.0, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MPP_", env_nested_delimiter="__", env_file=".env", extra="ignore")

    database_url: str = Field(default=f"sqlite+aiosqlite:///{VAR_DIR}/mpp-hub.db")
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_partitions: int = Field(default=3, ge=1)

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Bearer token -> portal client id. Idempotency keys and case visibility are scoped per client.
    api_clients: dict[str, str] = Field(default_factory=lambda: {"dev-portal-key": "portal"})

    relay_batch_size: int = Field(default=500, ge=1)
    relay_poll_seconds: float = Field(default=0.02, gt=0)
    consumer_batch_size: int = Field(default=200, ge=1)

    agencies: dict[str, AgencySettings] = Field(
        default_factory=lambda: {"samsat": AgencySettings(base_url=HttpUrl("http://127.0.0.1:8101"))}
    )
    simulator_ports: dict[str, int] = Field(default_factory=lambda: {"samsat": 8101})

    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
