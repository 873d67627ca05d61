"""The service catalogue, for the portal to build its forms from."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from hub.api.errors import ApiError, Problem
from hub.api.state import ApiState, api_state
from hub.catalogue import Service

router = APIRouter(prefix="/v1/catalogue", tags=["catalogue"])


class ServiceView(BaseModel):
    code: str
    name: str
    name_en: str
    provider: str
    connected: bool
    required_data: list[str]
    required_documents: list[str]
    fee: str
    sla_working_days: int
    agency_statuses: list[str]
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


def _view(service: Service, state: ApiState) -> ServiceView:
    return ServiceView(
        **service.model_dump(exclude={"operation"}),
        connected=service.provider in state.settings.agencies,
        input_schema=service.payloads.input.model_json_schema(),
        output_schema=service.payloads.output.model_json_schema(),
    )


@router.get("", response_model=list[ServiceView])
async def list_services(state: Annotated[ApiState, Depends(api_state)]) -> list[ServiceView]:
    """Every service with its provider, requirements, fee, SLA and JSON Schemas of its data."""
    return [_view(s, state) for s in sorted(state.catalogue, key=lambda s: s.code)]


@router.get("/{code}", response_model=ServiceView, responses={404: {"model": Problem}})
async def get_service(code: str, state: Annotated[ApiState, Depends(api_state)]) -> ServiceView:
    service = state.catalogue.get(code)
    if service is None:
        raise ApiError(404, "service_not_found", f"No service {code!r} in the catalogue")
    return _view(service, state)
