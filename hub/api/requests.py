"""Portal API: submit a request, read its status and history."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.auth import PortalClient
from hub.api.errors import ApiError, FieldError, Problem, field_errors, validation_error
from hub.api.state import ApiState, api_state
from hub.db.models import Case, HistoryRecord, Step
from hub.outbox import enqueue
from schemas import topics
from schemas.envelope import Envelope, MessageType, new_traceparent
from schemas.identifiers import mask_nik
from schemas.lifecycle import Status
from schemas.messages import RequestSubmitted, StepError
from schemas.requests import CaseView, HistoryEntry, RequestAccepted, RequestCreate, StepView

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/requests", tags=["requests"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {"application/problem+json": {}}} for status in (400, 401, 404, 422, 503)
}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Makes resubmission safe: the same key with the same body returns the original case.",
    ),
]


@router.post("", status_code=202, response_model=RequestAccepted, responses=_ERRORS)
async def submit_request(
    body: RequestCreate,
    client: PortalClient,
    state: Annotated[ApiState, Depends(api_state)],
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RequestAccepted:
    """Accept a citizen's request. A 202 means the case is stored and will be routed."""
    service = state.catalogue.get(body.service)
    if service is None:
        raise validation_error(
            [FieldError(field="service", loc=["body", "service"], type="unknown_service",
                        message=f"unknown service {body.service!r}; known: {', '.join(state.catalogue.codes())}")]
        )
    if service.provider not in state.settings.agencies:
        raise ApiError(503, "provider_not_connected", f"{service.code} is provided by {service.provider!r}, which is not connected to this hub",
                       headers={"Retry-After": "3600"})
    try:
        data = service.payloads.input.model_validate(body.data).model_dump(mode="json")
    except ValidationError as exc:
        raise validation_error(field_errors(exc.errors(include_input=False), prefix=["body", "data"])) from None
    applicant = body.applicant.model_dump(mode="json")
    request_hash = _hash({"service": body.service, "applicant": applicant, "data": data})

    if idempotency_key is not None:
        existing = await _replay(state, client, idempotency_key, request_hash)
        if existing is not None:
            response.headers["Idempotent-Replayed"] = "true"
            return existing
    case_id = uuid.uuid4()
    try:
        async with state.sessions.begin() as session:
            case = Case(
                id=case_id, client_id=client, idempotency_key=idempotency_key, request_hash=request_hash,
                service=body.service, status=Status.SUBMITTED.value, applicant=applicant, data=data, outputs={},
            )
            session.add(case)
            session.add(HistoryRecord(case_id=case_id, from_status=None, to_status=Status.SUBMITTED.value, note=f"client {client}"))
            submitted = RequestSubmitted(service=body.service, applicant=body.applicant, data=data)
            enqueue(
                session, topics.REQUESTS,
                Envelope(request_id=case_id, type=MessageType.REQUEST_SUBMITTED, source="api", payload=submitted.model_dump(mode="json")),
                correlation_id=str(case_id), traceparent=new_traceparent(),
            )
    except IntegrityError:
        # The same key raced us from another connection; its case is the answer.
        existing = await _replay(state, client, idempotency_key or "", request_hash) if idempotency_key else None
        if existing is None:
            raise
        response.headers["Idempotent-Replayed"] = "true"
        return existing
    log.info("accepted request %s for %s from %s", case_id, body.service, client)
    return _accepted(case_id, Status.SUBMITTED)


@router.get("/{request_id}", response_model=CaseView, responses=_ERRORS)
async def get_request(request_id: uuid.UUID, client: PortalClient, state: Annotated[ApiState, Depends(api_state)]) -> CaseView:
    """Status, outputs and the full history of one case."""
    async with state.sessions() as session:
        case = await session.get(Case, request_id)
        if case is None or case.client_id != client:
            raise ApiError(404, "request_not_found", f"No request {request_id} for this client")
        return await _case_view(session, case)


async def _replay(state: ApiState, client: str, key: str, request_hash: str) -> RequestAccepted | None:
    async with state.sessions() as session:
        case = (await session.scalars(select(Case).where(Case.client_id == client, Case.idempotency_key == key))).one_or_none()
    if case is None:
        return None
    if case.request_hash != request_hash:
        raise ApiError(
            422, "idempotency_key_reused", "Idempotency-Key was already used with a different body",
            detail=f"request {case.id} was created with this key",
            errors=[FieldError(field="Idempotency-Key", loc=["header", "Idempotency-Key"], type="idempotency_key_reused",
                               message="this key belongs to another request body")],
        )
    return _accepted(case.id, Status(case.status))


def _accepted(case_id: uuid.UUID, status: Status) -> RequestAccepted:
    return RequestAccepted(id=case_id, status=status, links={"self": f"/v1/requests/{case_id}"})


def _hash(value: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


async def _case_view(session: AsyncSession, case: Case) -> CaseView:
    steps = (await session.scalars(select(Step).where(Step.case_id == case.id).order_by(Step.created_at))).all()
    history = (await session.scalars(select(HistoryRecord).where(HistoryRecord.case_id == case.id).order_by(HistoryRecord.id))).all()
    return CaseView(
        id=case.id,
        service=case.service,
        status=Status(case.status),
        applicant_nik_masked=mask_nik(case.applicant["nik"]),
        created_at=case.created_at,
        updated_at=case.updated_at,
        outputs=case.outputs,
        error=StepError.model_validate(case.error) if case.error else None,
        steps=[
            StepView(id=s.id, service=s.service, agency=s.agency, status=Status(s.status), outputs=s.outputs,
                     error=StepError.model_validate(s.error) if s.error else None, updated_at=s.updated_at)
            for s in steps
        ],
        history=[
            HistoryEntry(at=h.at, step_id=h.step_id, from_status=Status(h.from_status) if h.from_status else None,
                         to_status=Status(h.to_status), note=h.note)
            for h in history
        ],
    )
