"""Canonical payloads of Dukcapil's services: what the portal sends, what the hub returns.

These models are the service's meaning in the hub's language (English names, the
shared identifier types of ``schemas.identifiers``), independent of how Dukcapil's
web service spells things. The hub learns about them through the plug-in object
(``mpp_dukcapil.plugin.payloads``, which returns :data:`PAYLOADS`), which its catalogue
asks when it loads.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Final

from pydantic import AwareDatetime, Field

from schemas.identifiers import Nik
from schemas.services.base import CanonicalModel, ServicePayloads

#: Catalogue code of the NIK verification service.
NIK_VERIFICATION: Final[str] = "dukcapil.nik_verification"

#: A 16-digit number masked like :func:`schemas.identifiers.mask_nik`: region kept, the rest hidden.
MASKED_16: Final[str] = r"^[0-9]{4}\*{10}[0-9]{2}$"


class NikVerificationInput(CanonicalModel):
    """Verify a citizen's NIK and name against the population register.

    The person verified may be someone other than the applicant (a parent verifying a
    child, an officer verifying a company director), so the NIK is part of the data.
    """

    nik: Nik = Field(description="NIK of the person to verify (may differ from the applicant's).")
    full_name: str = Field(min_length=1, max_length=100, description="Full name as on the KTP.")
    birth_date: date | None = Field(default=None, description="Birth date; compared with the register when given.")


class MatchResult(StrEnum):
    """Does the name belong to the NIK?"""

    MATCH = "MATCH"
    NAME_MISMATCH = "NAME_MISMATCH"


class BirthDateCheck(StrEnum):
    MATCH = "MATCH"
    MISMATCH = "MISMATCH"
    NOT_CHECKED = "NOT_CHECKED"  # no birth date was given


class RegisteredRegion(CanonicalModel):
    """Current domicile in the register, as cumulative Kemendagri codes (may differ from
    the NIK's prefix, which records the place of *first* registration)."""

    province: str = Field(pattern=r"^[0-9]{2}$", examples=["13"])
    regency: str = Field(pattern=r"^[0-9]{4}$", examples=["1375"])
    district: str = Field(pattern=r"^[0-9]{6}$", examples=["137501"])


class NikVerificationOutput(CanonicalModel):
    nik_masked: str = Field(pattern=MASKED_16, description="The NIK verified, masked.")
    match_result: MatchResult
    birth_date_check: BirthDateCheck
    region: RegisteredRegion
    kk_number_masked: str = Field(pattern=MASKED_16, description="Family card (KK) number, masked.")
    verified_at: AwareDatetime = Field(description="When Dukcapil verified (its access-log time).")
    agency_reference: str = Field(min_length=1, description="Dukcapil's access-log number.")


#: Canonical input/output models per service code.
PAYLOADS: Final[dict[str, ServicePayloads]] = {NIK_VERIFICATION: ServicePayloads(input=NikVerificationInput, output=NikVerificationOutput)}

__all__ = [
    "MASKED_16",
    "NIK_VERIFICATION",
    "PAYLOADS",
    "BirthDateCheck",
    "MatchResult",
    "NikVerificationInput",
    "NikVerificationOutput",
    "RegisteredRegion",
]
