"""The portal-facing request API: what is submitted and what is read back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.lifecycle import Status
from schemas.messages import Applicant, StepError


class RequestCreate(BaseModel):
    """A citizen's request for one catalogue service.

    ``data`` is validated against the service's own input model once the service
    code is known, so errors name the exact field (``data.plate``).
    """

    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=100, description="Catalogue service code, e.g. 'samsat.pkb_annual'.")
    applicant: Applicant
    data: dict[str, Any] = Field(default_factory=dict)


class HistoryEntry(BaseModel):
    at: datetime
    step_id: uuid.UUID | None
    from_status: Status | None
    to_status: Status
    note: str | None = None


class StepView(BaseModel):
    id: uuid.UUID
    service: str
    agency: str
    status: Status
    outputs: dict[str, Any]
    error: StepError | None
    updated_at: datetime


class CaseView(BaseModel):
    """What the portal sees of a case. The applicant's NIK is masked."""

    id: uuid.UUID
    service: str
    status: Status
    applicant_nik_masked: str
    created_at: datetime
    updated_at: datetime
    outputs: dict[str, Any]
    error: StepError | None
    steps: list[StepView]
    history: list[HistoryEntry]


class RequestAccepted(BaseModel):
    id: uuid.UUID
    status: Status
    links: dict[str, str]
