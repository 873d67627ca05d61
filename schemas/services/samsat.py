"""Samsat (joint vehicle registration and tax office) services.

Facts: docs/domain-sources.md "Samsat" (fees per PP 60/2016, SWDKLLJ rates) and flow
F1 (ownership transfer: STNK first, BPKB later at Polda). Since 5 January 2025 BBNKB is
levied only on a vehicle's first transfer (UU 1/2022 art. 12(1), PP 35/2023), so a used
vehicle's transfer pays none. PKB is a regional tax paid with the province's own
payment code (kode bayar), not a SIMPONI billing code.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

from schemas.identifiers import Nik, PlateNumber
from schemas.services.base import CanonicalModel, ServicePayloads
from schemas.services.documents import PoliceReportNumber, ReplacesALoss


class VehicleType(StrEnum):
    CAR = "car"
    MOTORCYCLE = "motorcycle"


_SEPARATORS = re.compile(r"[\s.\-]+")


def _normalizer(pattern: str, what: str) -> AfterValidator:
    """Remove the spaces, dots and dashes people type, upper-case, then check the shape."""
    shape = re.compile(pattern)

    def normalize(value: str) -> str:
        compact = _SEPARATORS.sub("", value).upper()
        if not shape.fullmatch(compact):
            raise ValueError(what)
        return compact

    return AfterValidator(normalize)


PaymentCode = Annotated[
    str,
    _normalizer(r"[0-9]{10,20}", "payment code (kode bayar) must be 10-20 digits"),
    Field(
        description=(
            "Kode bayar: the code the citizen pays the regional vehicle tax with, issued by the province's "
            "regional-tax system (not a SIMPONI billing code); its length is set by each province, so 10-20 digits "
            "are accepted (inferred, not verified for Sumatera Barat)."
        ),
        examples=["133308707440624"],
    ),
]
"""Samsat's regional-tax payment code, digits only (spaces, dots and dashes removed)."""

BpkbNumber = Annotated[
    str,
    _normalizer(r"[A-Z][0-9]{8}", "BPKB number must be one letter and 8 digits, e.g. P12345678"),
    Field(description="BPKB (vehicle ownership book) number: one letter + 8 digits (domain.md 5.1, inferred).", examples=["P12345678"]),
]
"""BPKB number, normalised to ``P12345678``."""

ChassisNumber = Annotated[
    str,
    _normalizer(r"[A-HJ-NPR-Z0-9]{17}", "chassis number must be the 17-character VIN (letters and digits, no I, O or Q)"),
    Field(description="Chassis number (nomor rangka): the 17-character VIN.", examples=["MH1JFZ130KK123456"]),
]
"""Chassis number (VIN), normalised to upper case without separators."""

EngineNumber = Annotated[
    str,
    _normalizer(r"[A-Z0-9]{6,20}", "engine number must be 6-20 letters and digits"),
    Field(description="Engine number (nomor mesin), 6-20 letters and digits.", examples=["JFZ1E1234567"]),
]
"""Engine number, normalised to upper case without separators."""


class PkbAnnualInput(CanonicalModel):
    """Annual PKB (vehicle tax) payment and STNK (registration certificate) endorsement."""

    plate: PlateNumber = Field(description="Vehicle registration number (TNKB), e.g. 'BA 1234 LZ'.")
    vehicle_type: VehicleType


class PkbBreakdown(CanonicalModel):
    pkb: int = Field(ge=0, description="Pajak Kendaraan Bermotor (provincial vehicle tax), rupiah.")
    swdkllj: int = Field(ge=0, description="Mandatory road-accident fund contribution (Jasa Raharja), rupiah.")
    endorsement_fee: int = Field(ge=0, description="STNK annual endorsement fee (PP 60/2016), rupiah.")


class PkbAnnualOutput(CanonicalModel):
    billing_code: PaymentCode
    amount: int = Field(ge=0, description="Total to pay, rupiah.")
    breakdown: PkbBreakdown
    stnk_valid_until: date = Field(description="New validity of the STNK endorsement.")
    agency_reference: str = Field(min_length=1, description="Samsat's transaction number.")


class PhysicalCheck(CanonicalModel):
    """The physical check (cek fisik) done at the counter: the officer rubs the chassis
    and engine numbers off the vehicle; Samsat compares them with the register."""

    chassis_number: ChassisNumber = Field(description="As rubbed off the vehicle at the physical check.")
    engine_number: EngineNumber = Field(description="As rubbed off the vehicle at the physical check.")


class VehiclePapers(CanonicalModel):
    """A registered vehicle as its owner presents it at the counter: the plate, the
    original BPKB and the physical check."""

    plate: PlateNumber
    vehicle_type: VehicleType
    bpkb_number: BpkbNumber
    physical_check: PhysicalCheck


class Stnk5YearInput(VehiclePapers):
    """Perpanjangan STNK 5-tahunan + ganti TNKB: 5-year STNK renewal with new plates.

    The applicant is the registered owner; the original BPKB must be shown."""


class Stnk5YearBreakdown(CanonicalModel):
    pkb: int = Field(ge=0, description="This year's PKB, rupiah.")
    swdkllj: int = Field(ge=0, description="This year's Jasa Raharja contribution, rupiah.")
    stnk_fee: int = Field(ge=0, description="New STNK: Rp100,000 (2/3-wheel) / Rp200,000 (4-wheel), PP 60/2016.")
    plate_fee: int = Field(ge=0, description="New plates (TNKB): Rp60,000 / Rp100,000, PP 60/2016.")


class Stnk5YearOutput(CanonicalModel):
    billing_code: PaymentCode
    amount: int = Field(ge=0, description="Total to pay, rupiah.")
    breakdown: Stnk5YearBreakdown
    stnk_valid_until: date = Field(description="Validity of the new STNK (5 years).")
    plate_valid_until: str = Field(
        pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="Month and year printed on the new plates, as YYYY-MM."
    )
    agency_reference: str = Field(min_length=1, description="Samsat's transaction number.")


class OwnershipTransferInput(CanonicalModel):
    """Balik nama (BBN-KB): transfer of a used vehicle to its new owner, who is the applicant.

    No BBNKB is due on it (only a first transfer pays BBNKB since 5 January 2025)."""

    plate: PlateNumber
    vehicle_type: VehicleType
    previous_owner_nik: Nik = Field(description="The seller: must be the registered owner.")
    bpkb_number: BpkbNumber
    sale_receipt_number: str = Field(min_length=1, max_length=50, description="Number of the sale receipt (kwitansi).")
    sale_receipt_stamped: bool = Field(description="The receipt carries the Rp10,000 stamp duty (meterai); Samsat refuses it otherwise.")
    physical_check: PhysicalCheck


class OwnershipTransferBreakdown(CanonicalModel):
    bbnkb: int = Field(
        ge=0,
        description=(
            "BBNKB (provincial transfer tax), rupiah: levied only on a vehicle's first transfer since 5 January 2025 "
            "(UU 1/2022 art. 12(1), PP 35/2023), so 0 on a used vehicle's transfer."
        ),
    )
    pkb: int = Field(ge=0)
    swdkllj: int = Field(ge=0)
    bpkb_fee: int = Field(ge=0, description="New BPKB: Rp225,000 (2/3-wheel) / Rp375,000 (4-wheel), PP 60/2016.")
    stnk_fee: int = Field(ge=0, description="New STNK: Rp100,000 / Rp200,000.")
    plate_fee: int = Field(ge=0, description="New plates (TNKB): Rp60,000 / Rp100,000.")


class OwnershipTransferOutput(CanonicalModel):
    """The step completes when the STNK is issued; the BPKB follows from Polda later."""

    billing_code: PaymentCode
    amount: int = Field(ge=0, description="Total to pay, rupiah.")
    breakdown: OwnershipTransferBreakdown
    stnk_number: str = Field(min_length=1, description="Serial of the STNK issued in the new owner's name.")
    bpkb_note: str = Field(min_length=1, description="Where the new BPKB is and how to collect it.")
    bpkb_ready_estimate: date = Field(description="When the new BPKB is expected to be ready at Polda.")
    agency_reference: str = Field(min_length=1, description="Samsat's transaction number.")


class StnkLossReason(StrEnum):
    LOST = "lost"
    DAMAGED = "damaged"


class StnkReplacementInput(VehiclePapers, ReplacesALoss):
    """Penggantian STNK hilang/rusak: a duplicate STNK (Perpol 7/2021 art. 60).

    A lost STNK needs the police loss report; a damaged one is handed in instead."""

    replaced = "the STNK"

    reason: StnkLossReason
    police_report_number: PoliceReportNumber | None = Field(
        default=None, description="The police loss report's number; required when the STNK was lost."
    )


class StnkReplacementOutput(CanonicalModel):
    billing_code: PaymentCode
    amount: int = Field(ge=0, description="New STNK fee, rupiah: Rp100,000 (2/3-wheel) / Rp200,000 (4-wheel), PP 76/2020.")
    stnk_number: str = Field(min_length=1, description="Serial of the replacement STNK.")
    stnk_valid_until: date = Field(description="The replacement keeps the validity of the STNK it replaces [I].")
    agency_reference: str = Field(min_length=1, description="Samsat's transaction number.")


class MutationOutInput(VehiclePapers):
    """Mutasi keluar (cabut berkas): move a vehicle's registration to another province.

    The origin Samsat releases the vehicle's file with a mutation letter; the vehicle is
    then registered at the destination Samsat (mutasi masuk) with new plates."""

    destination_province: str = Field(
        pattern=r"^[0-9]{2}$", description="Kemendagri code of the destination province, e.g. '31' (DKI Jakarta)."
    )


class MutationOutOutput(CanonicalModel):
    billing_code: PaymentCode
    amount: int = Field(ge=0, description="Mutation letter fee, rupiah: Rp150,000 (2/3-wheel) / Rp250,000 (4-wheel), PP 60/2016.")
    mutation_letter_number: str = Field(min_length=1, description="Number of the mutation letter for the destination Samsat.")
    destination_province: str = Field(pattern=r"^[0-9]{2}$")
    file_ready_estimate: date = Field(description="When the released file (berkas) can be collected for the destination.")
    agency_reference: str = Field(min_length=1, description="Samsat's transaction number.")


class MutationInInput(VehiclePapers):
    """Mutasi masuk: register here a vehicle released by another province's Samsat. ``plate``
    is its old plate; the vehicle gets new plates of this region."""

    origin_province: str = Field(pattern=r"^[0-9]{2}$", description="Kemendagri code of the province that released the file.")
    mutation_letter_number: str = Field(min_length=5, max_length=60, description="The origin Samsat's mutation letter number.")


class MutationInBreakdown(CanonicalModel):
    pkb: int = Field(ge=0, description="This year's PKB here, rupiah.")
    swdkllj: int = Field(ge=0)
    stnk_fee: int = Field(ge=0, description="New STNK: Rp100,000 / Rp200,000, PP 60/2016.")
    plate_fee: int = Field(ge=0, description="New plates (TNKB): Rp60,000 / Rp100,000, PP 60/2016.")
    bpkb_fee: int = Field(ge=0, description="BPKB with the new registration: Rp225,000 / Rp375,000 [I: that the full BPKB tariff applies].")


class MutationInOutput(CanonicalModel):
    billing_code: PaymentCode
    amount: int = Field(ge=0, description="Total to pay, rupiah.")
    breakdown: MutationInBreakdown
    new_plate: PlateNumber = Field(description="The vehicle's new registration number in this region.")
    stnk_number: str = Field(min_length=1, description="Serial of the new STNK.")
    agency_reference: str = Field(min_length=1, description="Samsat's transaction number.")


PAYLOADS: dict[str, ServicePayloads] = {
    "samsat.pkb_annual": ServicePayloads(input=PkbAnnualInput, output=PkbAnnualOutput),
    "samsat.stnk_5year": ServicePayloads(input=Stnk5YearInput, output=Stnk5YearOutput),
    "samsat.ownership_transfer": ServicePayloads(input=OwnershipTransferInput, output=OwnershipTransferOutput),
    "samsat.stnk_replacement": ServicePayloads(input=StnkReplacementInput, output=StnkReplacementOutput),
    "samsat.mutation_out": ServicePayloads(input=MutationOutInput, output=MutationOutOutput),
    "samsat.mutation_in": ServicePayloads(input=MutationInInput, output=MutationInOutput),
}
