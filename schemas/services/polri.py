"""Polri (Kepolisian Negara Republik Indonesia) services offered at an MPP counter.

Facts (sources by key in docs/domain-sources.md, "Polri"; cited per field):

* SKCK (Surat Keterangan Catatan Kepolisian, police clearance certificate), new and
  renewal: Rp30,000, valid 6 months [S:SKCK-TRIB][S:SKCK-BK]. A renewal needs the old
  SKCK, at most one year past its expiry [S:SKCK-BK].
* SIM (Surat Izin Mengemudi, driving licence) renewal: Rp80,000 for A/B1/B2, Rp75,000
  for C/C1/C2, Rp30,000 for D/D1 [S:SIM-FEES]; the new SIM is valid 5 years from issue,
  and an expired SIM cannot be renewed (Perpol 5/2021 pasal 4).
* Vehicle check (cek fisik kendaraan + police records check) by the Polri unit at the
  Samsat office before an ownership transfer (flow F1, "BBN-KB: Physical check ->
  ..."): the officer rubs the chassis and engine numbers off the vehicle and
  checks that it is not reported stolen or blocked. Its ``physical_check`` output is
  the very object ``samsat.ownership_transfer`` takes as input, so a composite case can
  pass it straight on.

* SKCK and SIM need an active JKN membership (Perpol 6/2023 for SKCK, Perpol 2/2023
  for SIM, after Inpres 1/2022): Polri checks the applicant's NIK with BPJS Kesehatan
  and refuses an inactive member (``jkn_inactive``); the applicant may show the JKN
  card, whose number must then be theirs.
* Lost-document report (surat keterangan tanda lapor kehilangan) at the SPKT: free,
  the same day; its number is what Samsat (duplicate STNK) and Imigrasi (lost
  passport) ask for.

Identifiers here are opaque to the hub [I]: an SKCK number is a
unit-issued register number, a SIM number is 12-14 digits.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from schemas.identifiers import PlateNumber
from schemas.services.base import CanonicalModel, IssuedDocument, ServicePayloads
from schemas.services.documents import PoliceReportNumber
from schemas.services.jkn import JknCardNumber
from schemas.services.samsat import ChassisNumber, EngineNumber, PhysicalCheck, VehicleType

_SEPARATORS = re.compile(r"[\s.\-]+")


def _normalize_sim_number(value: str) -> str:
    """SIM numbers are printed in groups (``1234-5678-901234``); keep the digits."""
    digits = _SEPARATORS.sub("", value)
    if not (digits.isascii() and digits.isdigit() and 12 <= len(digits) <= 14):
        raise ValueError("SIM number must be 12-14 digits (spaces, dots and dashes are ignored)")
    return digits


def _normalize_skck_number(value: str) -> str:
    """SKCK numbers are typed in any case and with stray spaces around the slashes."""
    compact = "/".join(part.strip() for part in value.strip().upper().split("/"))
    if "/" not in compact or not compact.startswith("SKCK"):
        raise ValueError("SKCK number must look like 'SKCK/YANMAS/01234/III/2026/INTELKAM'")
    return compact


SimNumber = Annotated[
    str,
    AfterValidator(_normalize_sim_number),
    Field(description="SIM (driving licence) number: 12-14 digits, opaque.", examples=["12345678901234"]),
]
SkckNumber = Annotated[
    str,
    Field(
        min_length=6,
        max_length=100,
        description="SKCK register number as printed, e.g. 'SKCK/YANMAS/01234/III/2026/INTELKAM'.",
    ),
    AfterValidator(_normalize_skck_number),
]


class LicenceClass(StrEnum):
    """SIM classes for private motor vehicles (Perpol 5/2021 pasal 3)."""

    A = "A"  # cars up to 3,500 kg
    B1 = "B1"  # vehicles over 3,500 kg
    B2 = "B2"  # heavy equipment, articulated vehicles
    C = "C"  # motorcycles up to 250 cc
    C1 = "C1"  # motorcycles 250-500 cc
    C2 = "C2"  # motorcycles over 500 cc
    D = "D"  # special vehicles for people with disabilities (motorcycle)
    D1 = "D1"  # special vehicles for people with disabilities (car)


class SkckNewInput(CanonicalModel):
    """SKCK baru: a police clearance certificate for the first time."""

    purpose: str = Field(
        min_length=3, max_length=200, description="Keperluan: what the SKCK is for, e.g. 'melamar pekerjaan' (job application)."
    )
    address: str = Field(min_length=5, max_length=300, description="Domicile address as on the KTP; it decides the issuing Polres/Polsek.")
    jkn_card_number: JknCardNumber | None = Field(
        default=None, description="The JKN card shown, if any; Polri checks the NIK's active JKN membership either way (Perpol 6/2023)."
    )


class SkckRenewalInput(SkckNewInput):
    """SKCK perpanjangan: renewal against the applicant's previous SKCK."""

    old_skck_number: SkckNumber
    old_skck_valid_until: date = Field(description="Expiry printed on the old SKCK; renewal allowed up to 1 year after it.")


class SkckOutput(IssuedDocument):
    """An issued SKCK."""

    skck_number: str = Field(min_length=1, max_length=100, description="Register number printed on the SKCK.")
    issued_on: date
    valid_until: date = Field(description="6 months after issue.")
    fee: int = Field(ge=0, description="PNBP paid, rupiah (Rp30,000).")
    registration_number: str = Field(min_length=1, max_length=100, description="Polri's application number (nomor registrasi).")


class SimRenewalInput(CanonicalModel):
    """SIM perpanjangan: renew a driving licence before it expires."""

    licence_class: LicenceClass
    old_sim_number: SimNumber
    old_valid_until: date = Field(description="Expiry printed on the old SIM; an expired SIM cannot be renewed.")
    jkn_card_number: JknCardNumber | None = Field(
        default=None, description="The JKN card shown, if any; Polri checks the NIK's active JKN membership either way (Perpol 2/2023)."
    )


class SimRenewalOutput(IssuedDocument):
    """A renewed SIM."""

    sim_number: SimNumber
    licence_class: LicenceClass
    issued_on: date
    valid_until: date = Field(description="5 years after issue (Perpol 5/2021 pasal 4).")
    fee: int = Field(ge=0, description="PNBP paid, rupiah.")
    registration_number: str = Field(min_length=1, max_length=100, description="Polri's application number (nomor registrasi).")


class VehicleCheckInput(CanonicalModel):
    """Cek fisik kendaraan: the vehicle presented at the Samsat check bay before a transfer.

    The chassis and engine numbers are what the officer rubbed off the vehicle; Polri
    compares them with the registration record of the plate."""

    plate: PlateNumber = Field(description="Vehicle registration number (TNKB), e.g. 'BA 2024 LA'.")
    vehicle_type: VehicleType
    chassis_number: ChassisNumber
    engine_number: EngineNumber


class VehicleCheckOutput(CanonicalModel):
    """A passed vehicle check. A failed one (stolen/blocked, numbers not matching the
    register) is a refusal, never an output, hence ``stolen_or_blocked`` is always false."""

    plate: PlateNumber
    physical_check: PhysicalCheck = Field(
        description="The checked chassis and engine numbers, shaped as samsat.ownership_transfer's physical_check input."
    )
    clearance_number: str = Field(min_length=1, max_length=100, description="Number of Polri's vehicle-check clearance letter.")
    checked_on: date
    stolen_or_blocked: Literal[False] = Field(description="Not reported stolen and not blocked (always false on success).")
    registration_number: str = Field(min_length=1, max_length=100, description="Polri's application number (nomor registrasi).")


class LostItemKind(StrEnum):
    ID_CARD = "ktp"
    FAMILY_CARD = "kk"
    DRIVING_LICENCE = "sim"
    VEHICLE_REGISTRATION = "stnk"
    VEHICLE_OWNERSHIP_BOOK = "bpkb"
    PASSPORT = "passport"
    BANK_CARD = "bank_card"
    MARRIAGE_BOOK = "marriage_book"
    DIPLOMA = "diploma"
    OTHER = "other"


class LostItem(CanonicalModel):
    kind: LostItemKind
    document_number: str | None = Field(default=None, min_length=1, max_length=50, description="The lost document's number, if known.")
    description: str | None = Field(default=None, min_length=1, max_length=200)


class LossReportInput(CanonicalModel):
    """Laporan kehilangan at the SPKT: what was lost, when and where."""

    items: list[LostItem] = Field(min_length=1, max_length=10)
    lost_on: date = Field(description="When the loss happened (or was noticed).")
    place: str = Field(min_length=3, max_length=200, description="Where it happened.")
    chronology: str = Field(min_length=10, max_length=2000, description="What happened, in the reporter's words.")


class LossReportOutput(CanonicalModel):
    """The police loss report: its number is what the replacing agencies ask for."""

    report_number: PoliceReportNumber
    reported_on: date
    items: list[LostItemKind] = Field(min_length=1)
    fee: int = Field(ge=0, le=0, description="Free of charge: a loss report is no PNBP.")
    registration_number: str = Field(min_length=1, max_length=100, description="Polri's application number (nomor registrasi).")


PAYLOADS: dict[str, ServicePayloads] = {
    "polri.skck_new": ServicePayloads(input=SkckNewInput, output=SkckOutput),
    "polri.skck_renewal": ServicePayloads(input=SkckRenewalInput, output=SkckOutput),
    "polri.sim_renewal": ServicePayloads(input=SimRenewalInput, output=SimRenewalOutput),
    "polri.vehicle_check": ServicePayloads(input=VehicleCheckInput, output=VehicleCheckOutput),
    "polri.loss_report": ServicePayloads(input=LossReportInput, output=LossReportOutput),
}
