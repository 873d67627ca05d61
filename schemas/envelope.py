"""The envelope every Kafka message carries.

The envelope is deliberately small and flat: routing and dedup need only its ids,
so a consumer can decide what to do with a message before it trusts the payload.
Correlation id and W3C ``traceparent`` travel in Kafka headers (see ``Headers``),
where tracing tools expect them, not in the body.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class MessageType(StrEnum):
    """What a message asks for or reports."""

    REQUEST_SUBMITTED = "request.submitted"  # portal -> router: a new case
    STEP_COMMAND = "step.command"  # router -> adapter: do this step
    STEP_STATUS = "step.status"  # adapter -> router: the step moved (canonical status)
    STEP_POLL = "step.poll"  # router -> adapter: ask the agency how a step is doing (polling backends)
    STEP_CANCEL = "step.cancel"  # hub -> adapter: the citizen cancelled; stop the step where the agency allows it
    AGENCY_CALLBACK = "agency.callback"  # api -> adapter: an authenticated native callback to translate
    SLA_BREACHED = "case.sla_breached"  # hub -> anyone listening: a step missed its SLA deadline


class Headers:
    """Kafka header names used across the bus (values are UTF-8 bytes)."""

    MESSAGE_ID = "mpp-message-id"
    MESSAGE_TYPE = "mpp-message-type"
    SCHEMA_VERSION = "mpp-schema-version"
    CORRELATION_ID = "mpp-correlation-id"
    TRACEPARENT = "traceparent"
    CONTENT_TYPE = "content-type"


class Envelope(BaseModel):
    """A message on the bus. ``payload`` is typed by ``type`` (see ``schemas.messages``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    message_id: uuid.UUID = Field(default_factory=uuid.uuid4, description="Unique per message; consumers dedup on it.")
    request_id: uuid.UUID = Field(description="The case; also the Kafka key, so a case stays on one partition.")
    step_id: uuid.UUID | None = Field(default=None, description="The step this message is about, if any.")
    type: MessageType
    schema_version: int = Field(default=SCHEMA_VERSION, ge=1)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    source: str = Field(min_length=1, max_length=100, description="Component that emitted it, e.g. 'router', 'adapter:samsat'.")
    payload: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> bytes:
        return str(self.request_id).encode()

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)


def new_traceparent() -> str:
    """A fresh W3C traceparent (version 00, sampled)."""
    return f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
