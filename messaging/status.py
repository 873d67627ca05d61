"""What an adapter worker instance says about its circuit breaker on ``mpp.adapter-status``.

Adapters publish it (``adapters/sdk/runtime/worker.py``), the hub keeps the newest per
instance for operators (``hub/features/adapter_status.py``): a message both sides of
the bus share, so it lives here rather than in either. The topic is compacted with
key ``<agency>:<instance id>``; a tombstone (no value) forgets a cleanly stopped instance.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class AdapterStatus(BaseModel):
    """One adapter worker instance's breaker. Carries the error *class* of the last
    failure only, never its message (an agency's message may echo a NIK or a plate)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agency: str = Field(min_length=1, max_length=50)
    instance_id: str = Field(min_length=1, max_length=200)
    state: BreakerState
    consecutive_failures: int = Field(ge=0)
    opened_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=200, description="Class name of the last transient error; never its message.")
    updated_at: datetime

    @property
    def key(self) -> bytes:
        return status_key(self.agency, self.instance_id)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> AdapterStatus:
        return cls.model_validate_json(raw)


def status_key(agency: str, instance_id: str) -> bytes:
    return f"{agency}:{instance_id}".encode()


def parse_status_key(key: bytes | None) -> tuple[str, str] | None:
    """``(agency, instance id)`` from a record key, or None when it is not one of ours."""
    if not key:
        return None
    agency, sep, instance = key.decode(errors="replace").partition(":")
    return (agency, instance) if sep and agency and instance else None
