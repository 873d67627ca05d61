"""What a service's payload registry entry is."""

from __future__ import annotations

from pydantic import BaseModel


class ServicePayloads(BaseModel):
    """The canonical input (what the portal sends in ``data``) and output (what the
    agency's answer becomes) of one catalogue service."""

    input: type[BaseModel]
    output: type[BaseModel]
