"""Imigrasi (Direktorat Jenderal Imigrasi) services: ordinary passports.

Facts (sources by key in docs/domain-sources.md, "Imigrasi"):

* Fees per PP 45/2024, from 17 Dec 2024 [S:PP45]: non-electronic Rp350,000 (5 years) /
  Rp650,000 (10 years); electronic Rp650,000 (5 years) / Rp950,000 (10 years).
* One civil document proves name, place/date of birth and parents: birth certificate,
  marriage book or diploma [S:PASPOR-REQ].
* Ready 4 working days after payment; collect within 30 days or it is cancelled
  [S:PASPOR-SLA][S:PASPOR-30D]. The PNBP billing is payable for 7 days [V:SIMPONI].
* Passport numbers are treated as opaque ``^[A-Z]{1,2}[0-9]{6,8}$`` [I].
* A 10-year passport only for applicants aged 17 or married (Permenkumham 18/2022 art.
  2A(2)): the age is the applicant's NIK's, so Imigrasi checks it; ``married`` says the
  other half [S:PASPOR10-SUARA].
* Lost or damaged passport: police loss report (lost), examination (BAP), a charge of
  Rp1,000,000 (lost) / Rp500,000 (damaged) on top of the fee, waived for force majeure
  [S:PASPOR-HILANG-KARAWANG][S:PASPOR-HILANG-KOMPAS].
* First passport of a migrant worker (PMI): Rp0, non-electronic, 5 years (PP 45/2024 art.
  5(1)) [S:PP45-REPUBLIKA][S:PMI-ANTARA], with the SKCK and work agreement of the
  placement [S:PMI-BP2MI][S:PMI-SUARABMI].
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from schemas.identifiers import BillingCode
from schemas.services.base import CanonicalModel, ServicePayloads
from schemas.services.documents import PoliceReportNumber, ReplacesALoss
from schemas.services.polri import SkckNumber

_SEPARATORS = re.compile(r"[\s\-]+")


def _normalize_passport_number(value: Any) -> Any:
    """Upper-case and drop spaces/dashes people type inside a passport number."""
    return _SEPARATORS.sub("", value).upper() if isinstance(value, str) else value


PassportNumber = Annotated[
    str,
    BeforeValidator(_normalize_passport_number),
    Field(
        pattern=r"^[A-Z]{1,2}[0-9]{6,8}$",
        description="Indonesian passport number: 1-2 letters and 6-8 digits (opaque), e.g. 'X1234567'.",
        examples=["X1234567"],
    ),
]
"""Passport number, normalised to upper case without separators."""


class PassportType(StrEnum):
    NON_ELECTRONIC = "non_electronic"
    ELECTRONIC = "electronic"


class SupportingDocument(StrEnum):
    """The civil document proving name, place/date of birth and parents."""

    BIRTH_CERTIFICATE = "birth_certificate"
    MARRIAGE_BOOK = "marriage_book"
    DIPLOMA = "diploma"


ValidityYears = Literal[5, 10]


class PassportNewInput(CanonicalModel):
    """Paspor biasa baru: a first ordinary passport."""

    passport_type: PassportType
    validity_years: ValidityYears = Field(description="5 or 10 years (PP 45/2024 fees differ).")
    appointment_date: date = Field(
        description="Preferred date for the interview, photo and fingerprints at the counter; the agency "
        "assigns the first service day on or after it."
    )
    supporting_document: SupportingDocument = Field(
        description="Which document proves name, place/date of birth and parents (brought to the interview)."
    )
    married: bool | None = Field(
        default=None,
        description="Married, as on the KK: lets an applicant under 17 have a 10-year passport (Permenkumham 18/2022 art. 2A(2)).",
    )


class PassportRenewalInput(PassportNewInput):
    """Penggantian paspor: replacement of an expired passport."""

    old_passport_number: PassportNumber = Field(description="Number of the expired passport being replaced.")


class PassportNewOutput(CanonicalModel):
    """The passport was printed and collected."""

    application_number: str = Field(min_length=1, description="Imigrasi's application number (nomor permohonan).")
    passport_number: PassportNumber
    passport_type: PassportType
    validity_years: ValidityYears
    issued_on: date
    expires_on: date
    picked_up_on: date
    amount_paid: int = Field(ge=0, description="PNBP paid, rupiah (PP 45/2024).")
    billing_code: BillingCode = Field(description="SIMPONI billing code the fee was paid with.")
    ntpn: str = Field(pattern=r"^[0-9A-Z]{16}$", description="NTPN: the state revenue transaction number proving payment.")


class PassportRenewalOutput(PassportNewOutput):
    replaced_passport_number: PassportNumber = Field(description="The expired passport this one replaces.")


class PassportLossReason(StrEnum):
    LOST = "lost"
    DAMAGED = "damaged"


class PassportLostDamagedInput(PassportNewInput, ReplacesALoss):
    """Penggantian paspor hilang/rusak: after an examination (BAP) at the office."""

    replaced = "the passport"

    reason: PassportLossReason
    police_report_number: PoliceReportNumber | None = Field(
        default=None, description="The police loss report's number; required when the passport was lost."
    )
    old_passport_number: PassportNumber | None = Field(
        default=None, description="The lost passport's number if known; the damaged passport's (required when damaged)."
    )
    force_majeure: bool = Field(default=False, description="Lost or damaged by fire, flood, earthquake or the like: no charge.")

    @model_validator(mode="after")
    def _papers_for_the_reason(self) -> PassportLostDamagedInput:
        if self.reason is PassportLossReason.DAMAGED and self.old_passport_number is None:
            raise ValueError("old_passport_number is required when the passport was damaged")
        return self


class PassportLostDamagedOutput(PassportNewOutput):
    replaced_passport_number: PassportNumber | None = Field(description="The lost or damaged passport, when known.")
    examination_number: str = Field(min_length=1, description="Number of the examination record (berita acara pemeriksaan, BAP).")
    charge: int = Field(ge=0, description="Biaya beban included in amount_paid: Rp1,000,000 lost / Rp500,000 damaged, 0 for force majeure.")


class MigrantWorkerPassportInput(CanonicalModel):
    """Paspor PMI: the first passport of a migrant worker, non-electronic, 5 years, Rp0."""

    appointment_date: date = Field(description="Preferred date for the interview, photo and fingerprints.")
    supporting_document: SupportingDocument
    skck_number: SkckNumber = Field(description="The SKCK issued for the placement.")
    skck_valid_until: date = Field(description="The SKCK's expiry; it must still be valid at the interview.")
    destination_country: str = Field(pattern=r"^[A-Z]{2}$", description="Country of placement, ISO 3166-1 alpha-2.")
    work_agreement_number: str = Field(min_length=1, max_length=60, description="The signed work agreement (perjanjian kerja).")


class MigrantWorkerPassportOutput(CanonicalModel):
    application_number: str = Field(min_length=1)
    passport_number: PassportNumber
    passport_type: Literal[PassportType.NON_ELECTRONIC]
    validity_years: Literal[5]
    issued_on: date
    expires_on: date
    picked_up_on: date
    amount_paid: Literal[0] = Field(description="Tarif nol rupiah (PP 45/2024 art. 5(1)).")


PAYLOADS: dict[str, ServicePayloads] = {
    "imigrasi.passport_new": ServicePayloads(input=PassportNewInput, output=PassportNewOutput),
    "imigrasi.passport_renewal": ServicePayloads(input=PassportRenewalInput, output=PassportRenewalOutput),
    "imigrasi.passport_lost_damaged": ServicePayloads(input=PassportLostDamagedInput, output=PassportLostDamagedOutput),
    "imigrasi.passport_migrant_worker": ServicePayloads(input=MigrantWorkerPassportInput, output=MigrantWorkerPassportOutput),
}
