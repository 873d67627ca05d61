"""What a service's payload registry entry is, and what every payload model is."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class CanonicalModel(BaseModel):
    """The base of every service payload model: a field the contract does not define is
    refused, never silently dropped, so the portal learns of its mistake and no stray
    (possibly personal) data travels on."""

    model_config = ConfigDict(extra="forbid")


class ServicePayloads(BaseModel):
    """The canonical input (what the portal sends in ``data``) and output (what the
    agency's answer becomes) of one catalogue service."""

    input: type[BaseModel]
    output: type[BaseModel]
