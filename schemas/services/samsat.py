"""Samsat (joint vehicle registration and tax office) services."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from schemas.identifiers import BillingCode, PlateNumber
from schemas.services.base import ServicePayloads


class VehicleType(StrEnum):
    CAR = "car"
    MOTORCYCLE = "motorcycle"


class PkbAnnualInput(BaseModel):
    """Annual PKB (vehicle tax) payment and STNK (registration certificate) endorsement."""

    model_config = ConfigDict(extra="forbid")

    plate: PlateNumber = Field(description="Vehicle registration number (TNKB), e.g. 'BA 1234 LZ'.")
    vehicle_type: VehicleType


class PkbBreakdown(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pkb: int = Field(ge=0, description="Pajak Kendaraan Bermotor (provincial vehicle tax), rupiah.")
    swdkllj: int = Field(ge=0, description="Mandatory road-accident fund contribution (Jasa Raharja), rupiah.")
    endorsement_fee: int = Field(ge=0, description="STNK annual endorsement fee (PP 60/2016), rupiah.")


class PkbAnnualOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    billing_code: BillingCode = Field(description="Code the citizen pays with (kode bayar).")
    amount: int = Field(ge=0, description="Total to pay, rupiah.")
    breakdown: PkbBreakdown
    stnk_valid_until: date = Field(description="New validity of the STNK endorsement.")
    agency_reference: str = Field(min_length=1, description="Samsat's transaction number.")


PAYLOADS: dict[str, ServicePayloads] = {
    "samsat.pkb_annual": ServicePayloads(input=PkbAnnualInput, output=PkbAnnualOutput),
}
