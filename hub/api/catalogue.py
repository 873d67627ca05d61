"""The service catalogue, for the portal to build its forms from."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from hub.api.errors import ApiError, problem_responses
from hub.api.state import ApiState, api_state
from hub.catalogue import Catalogue, Composite, Service

router = APIRouter(prefix="/v1/catalogue", tags=["catalogue"])


class ServiceView(BaseModel):
    code: str
    kind: str = "service"
    name: str
    name_en: str
    provider: str
    connected: bool
    required_data: list[str]
    required_documents: list[str]
    fee: str
    sla_working_days: float
    agency_statuses: list[str]
    cancellable: bool
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


class CompositeStepView(BaseModel):
    name: str
    service: str
    provider: str
    after: list[str]


class CompositeView(BaseModel):
    code: str
    kind: str = "composite"
    name: str
    name_en: str
    connected: bool
    required_documents: list[str]
    fee: str
    sla_working_days: float
    steps: list[CompositeStepView]
    input_schema: dict[str, Any]


def _service_view(service: Service, state: ApiState) -> ServiceView:
    return ServiceView(
        **service.model_dump(exclude={"operation"}),
        connected=service.provider in state.settings.agencies,
        input_schema=service.payloads.input.model_json_schema(),
        output_schema=service.payloads.output.model_json_schema(),
    )


def composite_input_schema(composite: Composite, catalogue: Catalogue) -> dict[str, Any]:
    """The composite's ``data`` as one JSON Schema, assembled from the fields of the
    step services that consume it, so the portal can build a single form."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    defs: dict[str, Any] = {}
    for field, (code, target) in composite.data_fields().items():
        schema = catalogue.get(code).payloads.input.model_json_schema()  # type: ignore[union-attr]
        defs.update(schema.get("$defs", {}))
        properties[field] = {
            **schema["properties"][target],
            "description": schema["properties"][target].get("description", f"{target} for {code}"),
        }
        if target in schema.get("required", []):
            required.append(field)
    result: dict[str, Any] = {
        "title": f"{composite.code} data",
        "type": "object",
        "properties": properties,
        "required": sorted(required),
        "additionalProperties": False,
    }
    if defs:
        result["$defs"] = defs
    return result


def _composite_view(composite: Composite, state: ApiState) -> CompositeView:
    catalogue = state.catalogue
    steps = [
        CompositeStepView(name=s.name, service=s.service, provider=catalogue.provider_of(s.service), after=s.after) for s in composite.steps
    ]
    return CompositeView(
        code=composite.code,
        name=composite.name,
        name_en=composite.name_en,
        required_documents=composite.required_documents,
        fee=composite.fee,
        sla_working_days=composite.sla_working_days,
        steps=steps,
        connected=all(s.provider in state.settings.agencies for s in steps),
        input_schema=composite_input_schema(composite, catalogue),
    )


@router.get("", response_model=list[ServiceView | CompositeView])
async def list_services(state: Annotated[ApiState, Depends(api_state)]) -> list[ServiceView | CompositeView]:
    """Every service and cross-agency composite, with provider(s), requirements, fee, SLA
    and the JSON Schema of its ``data``."""
    services: list[ServiceView | CompositeView] = [_service_view(s, state) for s in sorted(state.catalogue, key=lambda s: s.code)]
    return services + [_composite_view(c, state) for c in state.catalogue.composites()]


@router.get("/{code}", response_model=ServiceView | CompositeView, responses=problem_responses(404))
async def get_service(code: str, state: Annotated[ApiState, Depends(api_state)]) -> ServiceView | CompositeView:
    service = state.catalogue.get(code)
    if service is not None:
        return _service_view(service, state)
    composite = state.catalogue.composite(code)
    if composite is not None:
        return _composite_view(composite, state)
    raise ApiError(404, "service_not_found", f"No service {code!r} in the catalogue")
