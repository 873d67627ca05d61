"""The portal-facing request API: what is submitted and what is read back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.lifecycle import Status
from schemas.messages import Applicant, StepError


class RequestItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=100)
    data: dict[str, Any] = Field(default_factory=dict)


class RequestCreate(BaseModel):
    """A citizen's request: one catalogue service or composite (``service`` + ``data``),
    or several independent services at once (``items``).

    ``data`` is validated against the service's own input model once the service
    code is known, so errors name the exact field (``data.plate``, ``items.1.data.plate``).
    """

    model_config = ConfigDict(extra="forbid")

    service: str | None = Field(
        default=None, min_length=1, max_length=100, description="Catalogue service or composite code, e.g. 'samsat.pkb_annual'."
    )
    applicant: Applicant
    data: dict[str, Any] = Field(default_factory=dict)
    items: list[RequestItem] | None = Field(
        default=None, min_length=2, max_length=10, description="Independent services requested together."
    )


class RevisionCreate(BaseModel):
    """The corrected inputs for a step the agency returned (NEEDS_REVISION)."""

    model_config = ConfigDict(extra="forbid")

    data: dict[str, Any]


class CancelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="requested by the citizen", min_length=1, max_length=500)


class HistoryEntry(BaseModel):
    at: datetime
    step_id: uuid.UUID | None
    from_status: Status | None
    to_status: Status
    note: str | None = None


class StepView(BaseModel):
    id: uuid.UUID
    name: str
    service: str
    agency: str
    status: Status
    depends_on: list[str]
    outputs: dict[str, Any]
    error: StepError | None
    sla_due_at: datetime | None
    sla_breached_at: datetime | None
    superseded_by: uuid.UUID | None = Field(description="Set when the step was resubmitted after a revision request.")
    updated_at: datetime


class CaseView(BaseModel):
    """What the portal sees of a case. The applicant's NIK is masked."""

    id: uuid.UUID
    service: str
    kind: str = Field(description="single, composite or bundle")
    status: Status
    applicant_nik_masked: str
    sla_breached_at: datetime | None
    created_at: datetime
    updated_at: datetime
    outputs: dict[str, Any]
    error: StepError | None
    steps: list[StepView]
    history: list[HistoryEntry]
    trace_id: str | None = Field(default=None, description="W3C trace id of the case: every hop of it, in the operators' tracing backend.")


class RequestAccepted(BaseModel):
    id: uuid.UUID
    status: Status
    links: dict[str, str]
