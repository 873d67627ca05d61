"""Sample requests several specs share, so a change to what a valid request looks like is
made once."""

from __future__ import annotations

import uuid
from typing import Any

from hub.db.models import Case
from schemas.lifecycle import Status

#: The buyer at the Samsat counter (Bukittinggi).
APPLICANT: dict[str, str] = {"nik": "1375020101850011", "name": "Rudi"}

#: The vehicle's chassis and engine numbers, as the police physical check reports them.
PHYSICAL_CHECK: dict[str, str] = {"chassis_number": "MHABCDEFGHJKLMNPR", "engine_number": "ABC1234567"}


def vehicle_transfer_data(**changes: Any) -> dict[str, Any]:
    """Valid data of a ``mpp.vehicle_ownership_transfer`` request, the plate as the citizen
    typed it (override to vary)."""
    data: dict[str, Any] = {
        "plate": "ba2024la",
        "vehicle_type": "car",
        **PHYSICAL_CHECK,
        "previous_owner_nik": "1375015203900007",
        "bpkb_number": "P12345678",
        "sale_receipt_number": "KW/1",
        "sale_receipt_stamped": True,
    }
    return {**data, **changes}


#: One product of Uni Siti's kitchen, as the citizen lists it for a halal certificate.
RENDANG: dict[str, Any] = {"name": "Rendang daging", "ingredients": ["daging sapi", "santan", "cabai", "bumbu"]}


def halal_self_declare_data(**changes: Any) -> dict[str, Any]:
    """Valid data of a micro business's self-declare ``halal.certification`` (override to vary)."""
    data: dict[str, Any] = {
        "nib": "9120001234567",
        "business_name": "Rendang Uni Siti",
        "business_scale": "micro",
        "route": "self_declare",
        "products": [RENDANG],
    }
    return {**data, **changes}


def case_row(
    service: str,
    *,
    applicant: dict[str, Any],
    data: dict[str, Any],
    status: Status = Status.SUBMITTED,
    kind: str = "single",
    case_id: uuid.UUID | None = None,
) -> Case:
    """A case as the portal API stores it, for specs that start past the API (submitted by
    client ``portal``; the request hash is never checked there)."""
    return Case(
        id=case_id or uuid.uuid4(),
        client_id="portal",
        request_hash="x",
        service=service,
        kind=kind,
        status=status.value,
        applicant=applicant,
        data=data,
        outputs={},
    )
