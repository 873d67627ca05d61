"""JKN (Jaminan Kesehatan Nasional) services: what they mean, whoever provides them.

* ``bpjs.jkn_status``: is the applicant an *active* JKN member today? Inpres 1/2022
  told the police to require active JKN membership of SIM, STNK and SKCK applicants;
  Perpol 2/2023 made it a SIM requirement (piloted in 7 Polda, Sumatera Barat among
  them, from 1 Jul 2024; nationwide from 1 Nov 2024) and Perpol 6/2023 an SKCK one.

An inactive membership is an *answer* (the step completes with status
``TIDAK_AKTIF`` and the reason): whether the service may go on is the composite's
decision. A NIK that is not in the JKN register at all is a refusal
(``jkn_not_registered``).

Sources: docs/domain-sources.md ("BPJS Kesehatan").
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.services.base import ServicePayloads

JknCardNumber = Annotated[
    str, Field(pattern=r"^[0-9]{13}$", description="JKN card number (nomor kartu): 13 digits.", examples=["0001234567890"])
]


class JknMembershipStatus(StrEnum):
    ACTIVE = "AKTIF"
    INACTIVE = "TIDAK_AKTIF"


class JknInactiveReason(StrEnum):
    """Why a registered membership is not active (what the applicant must fix)."""

    CONTRIBUTIONS_IN_ARREARS = "contributions_in_arrears"  # PBPU/BP: unpaid contributions
    PBI_DEACTIVATED = "pbi_deactivated"  # removed from the subsidised (PBI) list
    EMPLOYMENT_ENDED = "employment_ended"  # PPU: the employer stopped paying


class JknSegment(StrEnum):
    """Membership segment (Perpres 82/2018): subsidised (PBI) or not (PPU, PBPU, BP)."""

    PBI_APBN = "PBI_APBN"
    PBI_APBD = "PBI_APBD"
    PPU = "PPU"
    PBPU = "PBPU"
    BP = "BP"


class JknStatusInput(BaseModel):
    """The member is the applicant (their NIK); the card number, when the applicant
    shows one, must be theirs."""

    model_config = ConfigDict(extra="forbid")

    card_number: JknCardNumber | None = None
    purpose: str = Field(min_length=1, max_length=200, description="The public service asking, e.g. 'SKCK' or 'SIM C baru'.")


class JknStatusOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    membership_status: JknMembershipStatus
    inactive_reason: JknInactiveReason | None = Field(description="Set exactly when membership_status is TIDAK_AKTIF.")
    segment: JknSegment
    care_class: int | None = Field(ge=1, le=3, description="Inpatient class (hak kelas) 1-3, when BPJS states one.")
    primary_care_facility_code: str = Field(min_length=1, max_length=20, description="The member's FKTP (puskesmas, clinic) code.")
    primary_care_facility_name: str = Field(min_length=1, max_length=200)
    card_number_masked: str = Field(pattern=r"^\*{9}[0-9]{4}$", description="JKN card number with all but the last 4 digits masked.")
    check_number: str = Field(min_length=1, max_length=40, description="BPJS Kesehatan's record of this check.")
    checked_at: AwareDatetime

    @model_validator(mode="after")
    def _reason_exactly_when_inactive(self) -> JknStatusOutput:
        if (self.membership_status is JknMembershipStatus.INACTIVE) != (self.inactive_reason is not None):
            raise ValueError("inactive_reason must be set exactly when membership_status is TIDAK_AKTIF")
        return self


def mask_card_number(card_number: str) -> str:
    """All but the last 4 digits hidden: enough for the applicant to recognise the card."""
    return "*" * (len(card_number) - 4) + card_number[-4:]


PAYLOADS: dict[str, ServicePayloads] = {
    "bpjs.jkn_status": ServicePayloads(input=JknStatusInput, output=JknStatusOutput),
}
