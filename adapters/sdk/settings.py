"""How an adapter reaches its agency's backend (one typed object, no kwargs soup)."""

from __future__ import annotations

from pydantic import BaseModel, Field, HttpUrl


class BackendSettings(BaseModel):
    base_url: HttpUrl
    timeout_seconds: float = Field(default=10.0, gt=0, description="Per HTTP call to the agency.")
    retry_attempts: int = Field(default=4, ge=1, le=10, description="In-process tries for transient errors.")
    retry_max_wait_seconds: float = Field(default=2.0, gt=0, description="Cap of the exponential backoff.")
