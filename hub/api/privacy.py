"""Operator access to cases, and the data subject's trail for the DPO.

A case is shown masked and the read audited; ``reveal`` shows it unmasked for a stated
reason, audited as a reveal (roles with the ``reveal`` right; a viewer sees masks only).
The trail (UU PDP art. 32) and erasure on a verified request (art. 8, 16) are for
operators with the ``dpo`` role only; the NIK travels in the request body, never in a
URL (URLs end up in logs). An erased (crypto-shredded) case still shows its
non-personal facts, with ``erased`` set and no applicant or data.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from hub.api.auth import Operator, OperatorMayErase, OperatorMayReveal, OperatorMayTrail
from hub.api.errors import ApiError, FieldError, problem_responses
from hub.api.state import ApiState, api_state
from hub.db.models import Step
from hub.features.privacy import access
from hub.features.privacy.at_rest import is_shredded
from hub.features.privacy.erasure import REFERENCE_MAX_LENGTH, StillProcessing, erase
from hub.features.privacy.masking import mask_fields
from hub.features.privacy.trail import trail
from schemas.identifiers import Nik

router = APIRouter(prefix="/v1/operator", tags=["operators"])

State = Annotated[ApiState, Depends(api_state)]
_ERRORS = problem_responses(401, 403, 404, 413, 422, 429)


class StepView(BaseModel):
    name: str
    service: str
    agency: str
    status: str
    inputs: dict[str, Any]


class CaseView(BaseModel):
    id: uuid.UUID
    service: str
    status: str
    client_id: str
    applicant: dict[str, Any] = Field(description="Masked unless revealed.")
    data: dict[str, Any] = Field(description="Masked unless revealed.")
    steps: list[StepView]
    created_at: datetime
    erased: bool = Field(default=False, description="Crypto-shredded (retention or erasure): its personal data is gone for good.")


class RevealRequest(BaseModel):
    reason: str = Field(
        min_length=access.REASON_MIN_LENGTH, max_length=access.REASON_MAX_LENGTH, description="Why the unmasked case is needed; audited."
    )


class TrailRequest(BaseModel):
    nik: Nik


class ErasureRequest(BaseModel):
    nik: Nik
    reason: str = Field(min_length=access.REASON_MIN_LENGTH, max_length=access.REASON_MAX_LENGTH, description="Why; on the audit chain.")
    reference: str = Field(min_length=1, max_length=REFERENCE_MAX_LENGTH, description="The reference of the verified request.")


class ErasureView(BaseModel):
    nik: str = Field(description="Masked.")
    erased: list[uuid.UUID] = Field(description="Cases crypto-shredded now.")
    already: list[uuid.UUID] = Field(description="Cases shredded before (retention or an earlier request).")


class ErasedView(BaseModel):
    at: datetime
    actor: str
    why: str = Field(description="retention | erasure")
    reference: str | None


class DisclosureView(BaseModel):
    agency: str
    service: str
    step: str
    fields: list[str] = Field(description="Names of the fields the agency received, never their values.")
    staged_at: datetime
    published_at: datetime | None
    purged_at: datetime | None = Field(description="When retention deleted the hub's copy of the command; its record stays.")


class AccessView(BaseModel):
    at: datetime
    actor: str
    kind: str = Field(description="data.read | data.reveal | privacy.trail")
    subject: str | None
    reason: str | None


class PurgeView(BaseModel):
    at: datetime
    actor: str
    counts: dict[str, int] = Field(description="Rows deleted by retention per table: outbox, webhook_deliveries, dead_letters.")


class CaseTrailView(BaseModel):
    case_id: uuid.UUID
    service: str
    status: str
    client_id: str
    created_at: datetime
    disclosures: list[DisclosureView]
    accesses: list[AccessView]
    purges: list[PurgeView]
    erased: ErasedView | None = Field(description="When and why the case was crypto-shredded, if it was.")


class TrailView(BaseModel):
    nik: str = Field(description="Masked.")
    cases: list[CaseTrailView]


@router.get("/cases/{case_id}", response_model=CaseView, responses=_ERRORS)
async def show_case(case_id: uuid.UUID, who: Operator, state: State) -> CaseView:
    """One case with its steps, personal data masked; the read is audited."""
    return await _case(state, case_id, who, reason=None)


@router.post("/cases/{case_id}/reveal", response_model=CaseView, responses=_ERRORS)
async def reveal_case(case_id: uuid.UUID, body: RevealRequest, who: OperatorMayReveal, state: State) -> CaseView:
    """The case unmasked: needs a reason, recorded in the audit log as a reveal."""
    return await _case(state, case_id, who, reason=body.reason)


async def _case(state: ApiState, case_id: uuid.UUID, who: str, *, reason: str | None) -> CaseView:
    shown = (lambda fields: fields) if reason else mask_fields
    async with state.sessions.begin() as session:
        try:
            case = await access.read_case(session, case_id, actor=who, via="api", reason=reason)
        except access.ReasonRequired as exc:
            raise ApiError(422, "reason_required", "A reveal needs a reason", detail=str(exc)) from None
        if case is None:
            raise ApiError(404, "not_found", "No such case", detail=f"case {case_id} does not exist")
        steps = list(await session.scalars(select(Step).where(Step.case_id == case_id).order_by(Step.created_at)))
    return CaseView(
        id=case.id,
        service=case.service,
        status=case.status,
        client_id=case.client_id,
        applicant=shown(case.applicant),
        data=shown(case.data),
        steps=[StepView(name=s.name, service=s.service, agency=s.agency, status=s.status, inputs=shown(s.inputs)) for s in steps],
        created_at=case.created_at,
        erased=is_shredded(case),
    )


@router.post("/privacy/trail", response_model=TrailView, responses=_ERRORS)
async def subject_trail(body: TrailRequest, who: OperatorMayTrail, state: State) -> TrailView:
    """The processing record of one data subject, by NIK: cases, disclosures to agencies, reads and reveals."""
    async with state.sessions.begin() as session:
        found = await trail(session, state.settings.privacy, body.nik, actor=who, via="api")
    return TrailView.model_validate(found, from_attributes=True)


@router.post("/privacy/erasure", response_model=ErasureView, responses={**_ERRORS, **problem_responses(409)})
async def erasure(body: ErasureRequest, who: OperatorMayErase, state: State) -> ErasureView:
    """Erase a data subject on a verified request: every finished case of the NIK crypto-shredded.
    409, erasing nothing, while any of their cases is still being processed."""
    try:
        async with state.sessions.begin() as session:
            done = await erase(
                session, state.settings.privacy, body.nik, reason=body.reason, reference=body.reference, actor=who, via="api"
            )
    except StillProcessing as exc:
        ongoing = [
            FieldError(field="cases", loc=["cases", str(c.case_id)], type=c.status, message=f"case {c.case_id} ({c.service}) is {c.status}")
            for c in exc.cases
        ]
        raise ApiError(
            409, "still_processing", "Cases still being processed", detail=f"{exc}; nothing was erased", errors=ongoing
        ) from None
    except ValueError as exc:  # a blank reference, a reason of blanks
        raise ApiError(422, "invalid_erasure_request", "The erasure request is incomplete", detail=str(exc)) from None
    return ErasureView(nik=done.nik, erased=done.erased, already=done.already)
