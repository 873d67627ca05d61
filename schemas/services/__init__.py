"""Per-service payloads: what the portal sends in ``data`` and what the agency returns.

``PAYLOADS`` maps a catalogue service code to its (input, output) models; the
catalogue (data, in the hub) says which agency provides the service, these models
say what the service means, independently of who provides it.
"""

from __future__ import annotations

from pydantic import BaseModel

from schemas.services.samsat import PkbAnnualInput, PkbAnnualOutput


class ServicePayloads(BaseModel):
    input: type[BaseModel]
    output: type[BaseModel]


PAYLOADS: dict[str, ServicePayloads] = {
    "samsat.pkb_annual": ServicePayloads(input=PkbAnnualInput, output=PkbAnnualOutput),
}
