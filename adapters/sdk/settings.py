"""How an adapter reaches its agency's backend (one typed object, no kwargs soup)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, field_validator


class BackendSettings(BaseModel):
    """Common settings; an agency's own ones (OAuth client, callback secret) pass
    through as extra fields and are validated by the adapter's subclass of this model."""

    model_config = ConfigDict(extra="allow")

    base_url: HttpUrl
    timeout_seconds: float = Field(default=10.0, gt=0, description="Per HTTP call to the agency.")
    retry_attempts: int = Field(default=4, ge=1, le=10, description="In-process tries for transient errors.")
    retry_max_wait_seconds: float = Field(default=2.0, gt=0, description="Cap of the exponential backoff.")
    retry_topic_delays_seconds: list[float] = Field(
        default_factory=lambda: [5.0, 30.0, 120.0],
        description="Delay of each retry-topic level (mpp.retry.<agency>.<n>); [] = straight to dead letters after the short retries.",
    )
    breaker_failure_threshold: int = Field(default=5, ge=1, description="Transient failures in a row that open the circuit.")
    breaker_reset_seconds: float = Field(default=10.0, gt=0, description="How long the circuit stays open before a probe.")
    callback_base_url: HttpUrl | None = Field(default=None, description="Hub URL the agency calls back (callback backends).")
    callback_secret: SecretStr | None = Field(default=None, description="Shared HMAC secret for the agency's callbacks.")

    @field_validator("retry_topic_delays_seconds", mode="before")
    @classmethod
    def _delays_from_text(cls, value: Any) -> Any:
        """Environment variables give text: a JSON list ("[5, 30]") or a comma list ("5,30")."""
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [part for part in text.split(",") if part.strip()]
        return value
