"""Business registration at OSS-RBA: the NIB for an individual micro or small business.

The city's DPMPTSP counter registers the business in OSS-RBA (Online Single Submission
Risk-Based Approach, run by the Ministry of Investment/BKPM). Since 5 Jun 2025 the
regime is PP 28/2025 on risk-based business licensing, which replaced PP 5/2021
[S:PP28-RINGKASAN][S:PP28-SWI]. Facts (sources by key in docs/domain-sources.md, "OSS"):

* the **NIB** (Nomor Induk Berusaha) is the business's identity: 13 digits, free of
  charge [S:NIB-13];
* the **risk level** follows from the activity (its 5-digit KBLI 2020 code
  [V:PERBPS-2-2020]) and decides what the NIB is worth [S:PP28-RINGKASAN]:
  low (*rendah*): the NIB is the licence itself; medium-low (*menengah rendah*): NIB +
  standard certificate as a self-declaration; medium-high (*menengah tinggi*): NIB +
  standard certificate that the ministry/agency/local government must verify before
  operating; high (*tinggi*): NIB + a permit (*izin*) granted before operating;
* **scale by capital**, land and buildings excluded: micro up to Rp1 billion, small
  above Rp1 billion up to Rp5 billion [V:PP-7-2021] art. 35(3).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from schemas.services.base import ServicePayloads
from schemas.services.halal import Nib, Text
from schemas.services.pbg import PbgApplicationInput, PbgApplicationOutput

Kbli = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{5}$"),
    Field(description="KBLI 2020 business activity code: 5 digits.", examples=["56103"]),
]
RegencyCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{4}$"),
    Field(description="Kemendagri code of the regency/city where the business runs (4 digits, e.g. 1375 Bukittinggi).", examples=["1375"]),
]


class UmkScale(StrEnum):
    """The scales this service registers (usaha mikro dan kecil)."""

    MICRO = "micro"  # capital up to Rp1 billion
    SMALL = "small"  # above Rp1 billion up to Rp5 billion


class RiskLevel(StrEnum):
    LOW = "low"  # rendah
    MEDIUM_LOW = "medium_low"  # menengah rendah
    MEDIUM_HIGH = "medium_high"  # menengah tinggi
    HIGH = "high"  # tinggi


class FurtherLicence(StrEnum):
    """What the business still needs besides the NIB before it may operate."""

    STANDARD_CERTIFICATE = "standard_certificate"  # sertifikat standar, a self-declaration
    VERIFIED_STANDARD_CERTIFICATE = "verified_standard_certificate"  # verified by the ministry/agency/local government
    PERMIT = "permit"  # izin


#: The licence each risk level needs on top of the NIB (None: the NIB is the licence).
FURTHER_LICENCE: dict[RiskLevel, FurtherLicence | None] = {
    RiskLevel.LOW: None,
    RiskLevel.MEDIUM_LOW: FurtherLicence.STANDARD_CERTIFICATE,
    RiskLevel.MEDIUM_HIGH: FurtherLicence.VERIFIED_STANDARD_CERTIFICATE,
    RiskLevel.HIGH: FurtherLicence.PERMIT,
}


class NibRegistrationInput(BaseModel):
    """Register an individual's micro or small business; the applicant is the owner."""

    model_config = ConfigDict(extra="forbid")

    business_name: Text
    kbli: Kbli
    business_scale: UmkScale
    regency_code: RegencyCode
    capital: int = Field(
        ge=0,
        le=5_000_000_000,
        description="Business capital in rupiah, land and buildings excluded (at most Rp5 billion for a small business).",
    )


class NibRegistrationOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nib: Nib
    issued_on: date
    kbli: Kbli
    risk_level: RiskLevel
    licence_complete: bool = Field(description="True when the NIB alone is the business licence (low risk).")
    further_licence: FurtherLicence | None = Field(
        default=None, description="What is still required before operating, for higher risk levels."
    )
    note: str = Field(min_length=1, max_length=1000, description="OSS's own words on what the NIB allows.")

    @model_validator(mode="after")
    def _licence_follows_the_risk(self) -> Self:
        if self.further_licence is not FURTHER_LICENCE[self.risk_level]:
            raise ValueError(f"a {self.risk_level.value} risk NIB needs further_licence {FURTHER_LICENCE[self.risk_level]}")
        if self.licence_complete is not (self.further_licence is None):
            raise ValueError("licence_complete is true exactly when no further licence is required")
        return self


PAYLOADS: dict[str, ServicePayloads] = {
    "oss.nib_registration": ServicePayloads(input=NibRegistrationInput, output=NibRegistrationOutput),
    "oss.pbg_application": ServicePayloads(input=PbgApplicationInput, output=PbgApplicationOutput),
}
