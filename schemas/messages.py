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
