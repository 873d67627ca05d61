"""Halal certification (provided by BPJPH, a separate agency since 29 Jul 2025).

BPJPH (Badan Penyelenggara Jaminan Produk Halal) was part of Kemenag until it became
a non-ministerial agency reporting to the President [S:BPJPH-SPLIT]. The payloads are
named by domain, not by ministry; the provider is catalogue data
(hub/catalogue/services/halal.toml).

Facts (sources by key in docs/domain-sources.md, "Halal"): the business is identified by its **NIB** (13-digit OSS
business id) [I]; the **self-declare** route is **Rp0** and open to micro and small
businesses only; the **regular** route costs **Rp300,000 - Rp5,000,000** per
certificate [S:HALAL-TARIF][S:HALAL-SD].

In the small-food-business flow (F3 in docs/domain-sources.md) the request first confirms the
taxpayer's status at DJP (KSWP, :mod:`schemas.services.djp`); the KSWP step's outputs
``npwp``, ``status`` and ``confirmed_at`` feed this service's optional ``npwp``,
``taxpayer_status`` and ``kswp_confirmed_at``, and BPJPH refuses a business whose
status is not VALID. A stand-alone request may leave them out.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from schemas.identifiers import BillingCode, Npwp
from schemas.services.base import CanonicalModel, ServicePayloads
from schemas.services.djp import TaxpayerStatus

Nib = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{13}$"),
    Field(description="NIB (Nomor Induk Berusaha, OSS business id): 13 digits.", examples=["9120001234567"]),
]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class BusinessScale(StrEnum):
    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


class CertificationRoute(StrEnum):
    SELF_DECLARE = "self_declare"  # Rp0, micro and small businesses, simple low-risk products
    REGULAR = "regular"  # audit by a halal inspection body, Rp300k - Rp5 million


class Product(CanonicalModel):
    name: Text
    ingredients: list[Text] = Field(min_length=1, max_length=100)


class HalalCertificationInput(CanonicalModel):
    """Sertifikasi halal for one or more products of one business."""

    nib: Nib
    business_name: Text
    business_scale: BusinessScale
    route: CertificationRoute
    products: list[Product] = Field(min_length=1, max_length=50, description="Products and a summary of their ingredients.")
    npwp: Npwp | None = Field(default=None, description="The business's NPWP, e.g. from the DJP KSWP step's outputs.npwp.")
    taxpayer_status: TaxpayerStatus | None = Field(
        default=None, description="DJP's KSWP answer (outputs.status of the KSWP step); BPJPH refuses anything but VALID."
    )
    kswp_confirmed_at: AwareDatetime | None = Field(
        default=None, description="When DJP confirmed it (outputs.confirmed_at of the KSWP step)."
    )

    @model_validator(mode="after")
    def _self_declare_is_for_small_businesses(self) -> Self:
        if self.route is CertificationRoute.SELF_DECLARE and self.business_scale not in (BusinessScale.MICRO, BusinessScale.SMALL):
            raise ValueError("the self_declare route is only open to micro and small businesses")
        return self

    @model_validator(mode="after")
    def _kswp_answer_comes_with_its_time(self) -> Self:
        if (self.taxpayer_status is None) != (self.kswp_confirmed_at is None):
            raise ValueError("taxpayer_status and kswp_confirmed_at come together (both from the KSWP confirmation)")
        return self


class HalalCertificationOutput(CanonicalModel):
    registration_number: str = Field(min_length=1, description="BPJPH registration (application) number.")
    certificate_number: str | None = Field(default=None, description="Halal certificate number, once issued.")
    issued_on: date | None = None
    route: CertificationRoute
    fee: int = Field(ge=0, le=5_000_000, description="Rupiah: 0 for self-declare, 300,000 - 5,000,000 regular.")
    billing_code: BillingCode | None = Field(default=None, description="Regular route: the billing code the fee was paid with.")

    @model_validator(mode="after")
    def _fee_fits_the_route(self) -> Self:
        if self.route is CertificationRoute.SELF_DECLARE and (self.fee != 0 or self.billing_code is not None):
            raise ValueError("the self_declare route is free: fee 0 and no billing code")
        if self.route is CertificationRoute.REGULAR and self.fee < 300_000:
            raise ValueError("the regular route costs at least Rp300,000")
        return self


PAYLOADS: dict[str, ServicePayloads] = {
    "halal.certification": ServicePayloads(input=HalalCertificationInput, output=HalalCertificationOutput),
}
