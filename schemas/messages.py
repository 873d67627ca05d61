"""Typed payloads of the envelope, one per ``MessageType``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.identifiers import Nik
from schemas.lifecycle import Status


class Applicant(BaseModel):
    """The citizen the case is for. Personal data: never logged, masked in views."""

    model_config = ConfigDict(extra="forbid")

    nik: Nik = Field(description="Nomor Induk Kependudukan (16-digit national identity number).")
    name: str = Field(min_length=1, max_length=200, description="Full name as on the KTP (identity card).")


class RequestSubmitted(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: str
    applicant: Applicant
    data: dict[str, Any]


class StepCommand(BaseModel):
    """Router -> adapter: carry out one step. The step id is the agency's idempotency key."""

    model_config = ConfigDict(extra="forbid")

    service: str
    operation: str = Field(description="The provider's operation name from the catalogue.")
    applicant: Applicant
    data: dict[str, Any]


class StepError(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=100, description="Machine-readable reason, e.g. 'plate_not_registered'.")
    message: str = Field(max_length=2000)
    agency_code: str | None = Field(default=None, description="The agency's own error code, for support.")


class StepStatusReport(BaseModel):
    """Adapter -> router: the step reached ``status``; outputs only with COMPLETED-like states."""

    model_config = ConfigDict(extra="forbid")

    status: Status
    outputs: dict[str, Any] = Field(default_factory=dict)
    error: StepError | None = None
    agency_status: str | None = Field(default=None, description="The agency's native status, kept for audit.")
    agency_ref: str | None = Field(default=None, max_length=200, description="The agency's own reference for the step.")
    poll_after_seconds: float | None = Field(
        default=None, gt=0, le=86_400, description="Polling backends: ask the hub to poll this step again after this delay."
    )


class StepPoll(BaseModel):
    """Router -> adapter: ask a polling backend about a step it accepted earlier."""

    model_config = ConfigDict(extra="forbid")

    command: StepCommand
    agency_ref: str = Field(min_length=1, max_length=200)
    attempt: int = Field(ge=1)


class StepCancel(BaseModel):
    """Hub -> adapter: ask the agency to cancel a running step (only sent to adapters that support it)."""

    model_config = ConfigDict(extra="forbid")

    command: StepCommand
    agency_ref: str | None = Field(default=None, max_length=200)
    reason: str = Field(max_length=500)


class AgencyCallback(BaseModel):
    """API -> adapter: a native callback whose signature the hub already verified."""

    model_config = ConfigDict(extra="forbid")

    content_type: str = Field(max_length=200)
    body: str = Field(description="The native body as received (text).")
