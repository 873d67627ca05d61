"""Imigrasi (Direktorat Jenderal Imigrasi) services: ordinary passports.

Facts (sources by key in docs/domain-sources.md, "Imigrasi"):

* Fees per PP 45/2024, from 17 Dec 2024 [S:PP45]: non-electronic Rp350,000 (5 years) /
  Rp650,000 (10 years); electronic Rp650,000 (5 years) / Rp950,000 (10 years).
* One civil document proves name, place/date of birth and parents: birth certificate,
  marriage book or diploma [S:PASPOR-REQ].
* Ready 4 working days after payment; collect within 30 days or it is cancelled
  [S:PASPOR-SLA][S:PASPOR-30D]. The PNBP billing is payable for 7 days [V:SIMPONI].
* Passport numbers are treated as opaque ``^[A-Z]{1,2}[0-9]{6,8}$`` [I].
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from schemas.identifiers import BillingCode
from schemas.services.base import CanonicalModel, ServicePayloads

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


PAYLOADS: dict[str, ServicePayloads] = {
    "imigrasi.passport_new": ServicePayloads(input=PassportNewInput, output=PassportNewOutput),
    "imigrasi.passport_renewal": ServicePayloads(input=PassportRenewalInput, output=PassportRenewalOutput),
}
