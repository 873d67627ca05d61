"""Portal API: submit a request, read its status and history."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.auth import PortalAccess, PortalClient, PortalIdentity
from hub.api.errors import ApiError, FieldError, field_errors, problem_responses, validation_error
from hub.api.links import link, links
from hub.api.state import ApiState, api_state
from hub.catalogue import Catalogue
from hub.db.models import Case, HistoryRecord, Step
from hub.domain.cases import load_case, transition
from hub.domain.inputs import check_composite_request
from hub.domain.outbox import enqueue
from hub.domain.workflow import Trace, current_steps
from hub.features.privacy.blind_index import nik_index
from messaging import tracing as log_context
from messaging.tracing import current_traceparent, trace_id_of
from schemas import topics
from schemas.envelope import Envelope, MessageType
from schemas.identifiers import mask_nik
from schemas.lifecycle import Status
from schemas.messages import RequestSubmitted, StepError
from schemas.requests import CancelCreate, CaseView, HistoryEntry, RequestAccepted, RequestCreate, RevisionCreate, StepView
from schemas.validation import field_problems

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/requests", tags=["requests"])

_ERRORS = problem_responses(400, 401, 403, 404, 413, 422, 429, 503)

Officer = Annotated[
    str | None,
    Header(
        alias="X-MPP-Officer",
        min_length=1,
        max_length=100,
        pattern=r"^[\x21-\x7e][\x20-\x7e]*$",
        description="The counter officer serving the citizen (their staff id); stored on the case and its history.",
    ),
]

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


#: A request any hub with Samsat connected accepts (documentation, and the fuzzer's first real case).
_SUBMIT_EXAMPLES = {
    "pkb_annual": {
        "summary": "Annual motor-vehicle tax (PKB) at Samsat",
        "value": {
            "service": "samsat.pkb_annual",
            "applicant": {"nik": "1375015203900007", "name": "Siti Rahmawati"},
            "data": {"plate": "BA 1234 LZ", "vehicle_type": "car"},
        },
    }
}
_CASE_ID = "$response.body#/id"
_CASE_LINKS = links(
    202,
    GetRequest=link("/v1/requests/{request_id}", "get", request_id=_CASE_ID),
    CancelRequest=link("/v1/requests/{request_id}/cancel", "post", request_id=_CASE_ID),
)


@router.post("", status_code=202, response_model=RequestAccepted, responses=_ERRORS | _CASE_LINKS)
async def submit_request(
    body: Annotated[RequestCreate, Body(openapi_examples=_SUBMIT_EXAMPLES)],
    identity: PortalAccess,
    state: Annotated[ApiState, Depends(api_state)],
    response: Response,
    idempotency_key: IdempotencyKey = None,
    officer: Officer = None,
) -> RequestAccepted:
    """Accept a citizen's request. A 202 means the case is stored and will be routed.

    A client may request only the services it is allowed (403 ``service_not_allowed``)."""
    client = identity.client
    _require_allowed(identity, body)
    service_code, kind, data = _checked(state, body)
    applicant = body.applicant.model_dump(mode="json")
    request_hash = _hash({"service": service_code, "applicant": applicant, "data": data})

    if idempotency_key is not None:
        existing = await _replay(state, client, idempotency_key, request_hash)
        if existing is not None:
            response.headers["Idempotent-Replayed"] = "true"
            return existing
    case_id = uuid.uuid4()
    log_context.case_id.set(str(case_id))
    try:
        async with state.sessions.begin() as session:
            case = Case(
                id=case_id,
                client_id=client,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                service=service_code,
                kind=kind,
                status=Status.SUBMITTED.value,
                applicant=applicant,
                data=data,
                outputs={},
                nik_index=nik_index(state.settings.privacy, body.applicant.nik),
                officer=officer,
            )
            session.add(case)
            session.add(
                HistoryRecord(case_id=case_id, from_status=None, to_status=Status.SUBMITTED.value, note=f"client {client}", officer=officer)
            )
            submitted = RequestSubmitted(service=service_code, applicant=body.applicant, data=data)
            traceparent = current_traceparent()  # this request's span: the case's trace starts here
            case.traceparent = traceparent
            enqueue(
                session,
                topics.REQUESTS,
                Envelope(request_id=case_id, type=MessageType.REQUEST_SUBMITTED, source="api", payload=submitted.model_dump(mode="json")),
                correlation_id=str(case_id),
                traceparent=traceparent,
            )
    except IntegrityError:
        # The same key raced us from another connection; its case is the answer.
        existing = await _replay(state, client, idempotency_key or "", request_hash) if idempotency_key else None
        if existing is None:
            raise
        response.headers["Idempotent-Replayed"] = "true"
        return existing
    log.info("accepted request %s for %s from %s", case_id, service_code, client)
    return _accepted(case_id, Status.SUBMITTED)


@router.get("/{request_id}", response_model=CaseView, responses=_ERRORS)
async def get_request(request_id: uuid.UUID, client: PortalClient, state: Annotated[ApiState, Depends(api_state)]) -> CaseView:
    """Status, outputs and the full history of one case."""
    async with state.sessions() as session:
        return await _case_view(session, await _owned_case(session, request_id, client))


@router.post("/{request_id}/cancel", response_model=CaseView, responses=_ERRORS | problem_responses(409))
async def cancel_request(
    request_id: uuid.UUID,
    client: PortalClient,
    state: Annotated[ApiState, Depends(api_state)],
    body: CancelCreate | None = None,
    officer: Officer = None,
) -> CaseView:
    """Cancel a case: steps not started are skipped, running ones are asked to cancel
    where the agency supports it (others run on and their result is kept)."""
    reason = (body or CancelCreate()).reason
    async with state.sessions.begin() as session:
        case = await _owned_case(session, request_id, client, for_update=True)
        if Status(case.status).is_terminal:
            raise ApiError(409, "request_already_final", f"Request {request_id} is already {case.status}")
        state.workflow.cancel(session, case, await current_steps(session, case), reason=reason, trace=_trace(case))
        _stamp_officer(session, officer)
    async with state.sessions() as session:
        return await _case_view(session, await _owned_case(session, request_id, client))


@router.post("/{request_id}/steps/{step_id}/revision", status_code=202, response_model=CaseView, responses=_ERRORS | problem_responses(409))
async def revise_step(
    request_id: uuid.UUID, step_id: uuid.UUID, body: RevisionCreate, client: PortalClient, state: Annotated[ApiState, Depends(api_state)]
) -> CaseView:
    """Resubmit a step the agency returned for correction (NEEDS_REVISION) with corrected
    inputs. It goes to the agency as a new step (a new idempotency key); the returned
    one is kept in the history, superseded."""
    async with state.sessions.begin() as session:
        case = await _owned_case(session, request_id, client, for_update=True)
        step = await session.get(Step, step_id)
        if step is None or step.case_id != case.id:
            raise ApiError(404, "step_not_found", f"No step {step_id} in request {request_id}")
        if step.status != Status.NEEDS_REVISION or step.superseded_by is not None:
            raise ApiError(409, "step_not_awaiting_revision", f"Step {step_id} is {step.status}, not NEEDS_REVISION")
        if Status(case.status).is_terminal:  # e.g. cancelled while the step waited for correction
            raise ApiError(409, "request_already_final", f"Request {request_id} is already {case.status}")
        service = state.catalogue.get(step.service)
        assert service is not None
        try:
            inputs = service.payloads.input.model_validate(body.data).model_dump(mode="json")
        except ValidationError as exc:
            raise validation_error(field_errors(field_problems(exc), prefix=["body", "data"])) from None
        revised = Step(
            id=uuid.uuid4(),
            case_id=case.id,
            name=step.name,
            depends_on=step.depends_on,
            input_mapping=None,
            service=step.service,
            agency=step.agency,
            operation=step.operation,
            status=Status.SUBMITTED.value,
            inputs=inputs,
        )
        session.add(revised)
        step.superseded_by = revised.id
        transition(session, step, Status.CANCELLED, note=f"superseded by revised step {revised.id}")
        await session.flush()
        await state.workflow.advance(session, case, message_id=None, trace=_trace(case))  # starts the revised step
    async with state.sessions() as session:
        return await _case_view(session, await _owned_case(session, request_id, client))


def _stamp_officer(session: AsyncSession, officer: str | None) -> None:
    """Name the counter officer on every history entry this request is about to write."""
    for pending in session.new:
        if isinstance(pending, HistoryRecord):
            pending.officer = officer


def _require_allowed(identity: PortalIdentity, body: RequestCreate) -> None:
    """Default-deny: every service asked for (a bundle's each item) must be on the client's list."""
    asked = [item.service for item in body.items] if body.items is not None else [body.service] if body.service else []
    refused = sorted({code for code in asked if not identity.may_request(code)})
    if refused:
        raise ApiError(
            403,
            "service_not_allowed",
            "This client may not request these services",
            detail=f"not allowed: {', '.join(refused)}",
            errors=[
                FieldError(field="service", loc=["body", "service"], type="service_not_allowed", message=f"{code} is not allowed")
                for code in refused
            ],
        )


def _checked(state: ApiState, body: RequestCreate) -> tuple[str, str, dict[str, Any]]:
    """Validate what was asked for: (service code, kind, normalised data), or a 4xx naming the field."""
    catalogue = state.catalogue
    if body.items is not None:
        if body.service is not None or body.data:
            raise validation_error(
                [FieldError(field="items", loc=["body", "items"], type="items_exclusive", message="give either service and data, or items")]
            )
        errors: list[FieldError] = []
        items = []
        for index, item in enumerate(body.items):
            service = catalogue.get(item.service)
            if service is None:
                errors.append(_unknown_service(catalogue, item.service, ["body", "items", index, "service"]))
                continue
            _require_connected(state, service.code, service.provider)
            try:
                items.append({"service": service.code, "data": service.payloads.input.model_validate(item.data).model_dump(mode="json")})
            except ValidationError as exc:
                errors += field_errors(field_problems(exc), prefix=["body", "items", index, "data"])
        if errors:
            raise validation_error(errors)
        return "bundle", "bundle", {"items": items}
    if body.service is None:
        raise validation_error(
            [FieldError(field="service", loc=["body", "service"], type="missing", message="service (or items) is required")]
        )
    composite = catalogue.composite(body.service)
    if composite is not None:
        for step in composite.steps:
            provider = catalogue.get(step.service).provider  # type: ignore[union-attr]
            _require_connected(state, composite.code, provider)
        data, problems = check_composite_request(composite, catalogue, body.data, body.applicant.model_dump(mode="json"))
        if problems:
            raise validation_error(
                [
                    FieldError(
                        field=".".join(str(p) for p in problem.loc), loc=["body", *problem.loc], type=problem.type, message=problem.message
                    )
                    for problem in problems
                ]
            )
        return composite.code, "composite", data
    service = catalogue.get(body.service)
    if service is None:
        raise validation_error([_unknown_service(catalogue, body.service, ["body", "service"])])
    _require_connected(state, service.code, service.provider)
    try:
        return service.code, "single", service.payloads.input.model_validate(body.data).model_dump(mode="json")
    except ValidationError as exc:
        raise validation_error(field_errors(field_problems(exc), prefix=["body", "data"])) from None


def _unknown_service(catalogue: Catalogue, code: str, loc: list[str | int]) -> FieldError:
    known = ", ".join([*catalogue.codes(), *(c.code for c in catalogue.composites())])
    return FieldError(
        field=".".join(str(p) for p in loc[1:]), loc=loc, type="unknown_service", message=f"unknown service {code!r}; known: {known}"
    )


def _require_connected(state: ApiState, code: str, provider: str) -> None:
    if provider not in state.settings.agencies:
        raise ApiError(
            503, "provider_not_connected", f"{code} needs {provider!r}, which is not connected to this hub", headers={"Retry-After": "3600"}
        )


async def _owned_case(session: AsyncSession, request_id: uuid.UUID, client: str, *, for_update: bool = False) -> Case:
    case = await load_case(session, request_id, for_update=for_update)
    if case is None or case.client_id != client:
        raise ApiError(404, "request_not_found", f"No request {request_id} for this client")
    return case


def _trace(case: Case) -> Trace:
    """A portal's later request about a case: its own span when traced, else the case's trace."""
    return Trace(correlation_id=str(case.id), traceparent=current_traceparent(case.traceparent))


async def _replay(state: ApiState, client: str, key: str, request_hash: str) -> RequestAccepted | None:
    async with state.sessions() as session:
        case = (await session.scalars(select(Case).where(Case.client_id == client, Case.idempotency_key == key))).one_or_none()
    if case is None:
        return None
    if case.request_hash != request_hash:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "Idempotency-Key was already used with a different body",
            detail=f"request {case.id} was created with this key",
            errors=[
                FieldError(
                    field="Idempotency-Key",
                    loc=["header", "Idempotency-Key"],
                    type="idempotency_key_reused",
                    message="this key belongs to another request body",
                )
            ],
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
        kind=case.kind,
        status=Status(case.status),
        applicant_nik_masked=mask_nik(case.applicant.get("nik", "")),  # none once the case is erased
        sla_breached_at=case.sla_breached_at,
        trace_id=trace_id_of(case.traceparent),
        created_at=case.created_at,
        updated_at=case.updated_at,
        outputs=case.outputs,
        error=StepError.model_validate(case.error) if case.error else None,
        steps=[
            StepView(
                id=s.id,
                name=s.name,
                service=s.service,
                agency=s.agency,
                status=Status(s.status),
                depends_on=s.depends_on,
                outputs=s.outputs,
                error=StepError.model_validate(s.error) if s.error else None,
                sla_due_at=s.sla_due_at,
                sla_breached_at=s.sla_breached_at,
                superseded_by=s.superseded_by,
                updated_at=s.updated_at,
            )
            for s in steps
        ],
        history=[
            HistoryEntry(
                at=h.at,
                step_id=h.step_id,
                from_status=Status(h.from_status) if h.from_status else None,
                to_status=Status(h.to_status),
                note=h.note,
            )
            for h in history
        ],
    )
