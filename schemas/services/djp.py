"""DJP (Direktorat Jenderal Pajak, the tax directorate) services: what they mean,
whoever provides them.

* ``djp.npwp_activation``: activate the citizen's NIK as their NPWP (tax number),
  PMK 112/2022, mandatory for full use from 1 Jul 2024 (PMK 136/2023, PER-6/PJ/2024).
* ``djp.kswp``: Konfirmasi Status Wajib Pajak, the taxpayer status confirmation that
  licensing bodies ask for (VALID / TIDAK_VALID), PER-43/PJ/2015, SE-33/PJ/2016.
* ``djp.skf``: Surat Keterangan Fiskal, the tax clearance letter, issued
  automatically when the criteria hold and valid for 1 month (PER-8/PJ/2025).

Sources: docs/domain-sources.md ("Identifiers" and "DJP").
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, model_validator
from pydantic_core import PydanticCustomError

from schemas.identifiers import Nik, Npwp
from schemas.services.base import CanonicalModel, IssuedDocument, ServicePayloads

# ---------------------------------------------------------------------- contact data

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]+")
# Indonesian mobile numbers: 08xx (0811..0899) + 7-10 more digits, i.e. 10-13 digits
# written nationally; +62 / 62 replace the leading 0 internationally.
_MOBILE = re.compile(r"8[1-9][0-9]{7,10}")


def normalize_email(value: str) -> str:
    """Trim and lower-case the domain (mailbox names may be case-sensitive, domains are not).

    The shape is all we check: DJP verifies the mailbox itself with a link."""
    email = value.strip()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise PydanticCustomError("email_invalid", "e-mail address must look like name@domain.tld", {"reason": "shape"})
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalize_mobile(value: str) -> str:
    """Return an Indonesian mobile number as E.164 (``+628...``) or raise ``phone_invalid``.

    Accepts ``0812-3456-7890``, ``62812...`` and ``+62 812 ...``: counters type numbers
    every way, and one number must have one form in our data."""
    digits = _PHONE_SEPARATORS.sub("", value)
    if digits.startswith("+62"):
        national = digits[3:]
    elif digits.startswith("62"):
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        national = ""
    if not _MOBILE.fullmatch(national):
        raise PydanticCustomError("phone_invalid", "phone must be an Indonesian mobile number such as 0812 3456 7890", {"reason": "shape"})
    return "+62" + national


Email = Annotated[str, AfterValidator(normalize_email), Field(examples=["siti.rahmah@example.id"])]
MobilePhone = Annotated[
    str,
    AfterValidator(normalize_mobile),
    Field(description="Indonesian mobile number, normalised to E.164 (+628...).", examples=["+6281234567890"]),
]
TaxOfficeCode = Annotated[str, Field(pattern=r"^[0-9]{3}$", description="KPP (tax office) code, e.g. '202' Bukittinggi.")]


# ---------------------------------------------------------------------- activation


class NpwpActivationInput(CanonicalModel):
    """Activation of the applicant's NIK as NPWP; the NIK and name come from the applicant.

    DJP matches the NIK at Dukcapil (the population registry) first; an unmatched NIK
    is refused (``nik_not_matched``)."""

    email: Email = Field(description="Where DJP (Coretax) sends the activation link and notices.")
    phone: MobilePhone


class NpwpActivationOutput(CanonicalModel):
    npwp: Npwp = Field(description="The NPWP: the 16-digit NIK itself for resident individuals.")
    activated_on: date
    tax_office_code: TaxOfficeCode
    tax_office_name: str = Field(min_length=1, description="e.g. 'KPP Pratama Bukittinggi'.")
    already_active: bool = Field(description="True when the NIK had been activated before; activated_on is the original date.")
    agency_reference: str = Field(min_length=1, description="DJP's receipt number.")


# ---------------------------------------------------------------------- compliance


class TaxComplianceCriterion(StrEnum):
    """What DJP checks. KSWP: the first two; SKF: the last four (PER-8/PJ/2025)."""

    NPWP_ACTIVE = "npwp_active"
    ANNUAL_RETURNS_FILED = "annual_returns_filed"  # SPT Tahunan PPh, last 2 tax years
    VAT_RETURNS_FILED = "vat_returns_filed"  # SPT Masa PPN, last 3 periods (VAT-registered only)
    NO_TAX_DEBT = "no_tax_debt"  # or deferred / in approved instalments
    NOT_UNDER_INVESTIGATION = "not_under_investigation"  # no criminal tax investigation


class TaxpayerStatus(StrEnum):
    VALID = "VALID"
    NOT_VALID = "TIDAK_VALID"


class KswpInput(CanonicalModel):
    npwp: Npwp
    purpose: str = Field(
        min_length=1, max_length=200, description="The public service the confirmation is for, e.g. 'Sertifikasi halal (BPJPH)'."
    )


class KswpOutput(CanonicalModel):
    """A confirmation, whatever it says: TIDAK_VALID is an answer for the licensing
    body to act on, not a failed step."""

    npwp: Npwp
    status: TaxpayerStatus
    unmet_criteria: list[TaxComplianceCriterion] = Field(description="Why not VALID: the criteria not met; empty exactly when VALID.")
    tax_years_checked: list[int]
    confirmed_at: AwareDatetime

    @model_validator(mode="after")
    def _status_matches_criteria(self) -> KswpOutput:
        if (self.status is TaxpayerStatus.VALID) == bool(self.unmet_criteria):
            raise ValueError("status VALID must have no unmet criteria and TIDAK_VALID at least one")
        return self


class SkfInput(CanonicalModel):
    npwp: Npwp
    purpose: str = Field(min_length=1, max_length=200, description="What the tax clearance is needed for, e.g. a procurement tender.")


class SkfOutput(IssuedDocument):
    skf_number: str = Field(min_length=1)
    npwp: Npwp
    tax_office_code: TaxOfficeCode
    issued_on: date
    valid_until: date = Field(description="Last day of validity: one month after issue (PER-8/PJ/2025 art. 6(1)).")


# ---------------------------------------------------------------------- entity NPWP


class EntityForm(StrEnum):
    """Bentuk badan: the legal form on the deed."""

    PT = "pt"
    CV = "cv"
    FIRMA = "firma"
    KOPERASI = "koperasi"
    YAYASAN = "yayasan"
    PERKUMPULAN = "perkumpulan"


class EntityOfficer(CanonicalModel):
    nik: Nik
    name: str = Field(min_length=1, max_length=200)
    position: str = Field(min_length=1, max_length=100, description="e.g. 'Direktur', 'Komisaris', 'Ketua'.")


class EntityNpwpInput(CanonicalModel):
    """Pendaftaran NPWP badan: registration of a business entity; the applicant is its
    person in charge (penanggung jawab), who must be one of its officers."""

    entity_name: str = Field(min_length=3, max_length=200, description="As on the deed, e.g. 'PT Kopi Agam Sejahtera'.")
    entity_form: EntityForm
    deed_number: str = Field(min_length=1, max_length=50, description="Nomor akta pendirian (deed of establishment).")
    deed_date: date
    ahu_decree_number: str | None = Field(
        default=None, min_length=1, max_length=60, description="Ministry of Law (AHU) decree or registration number, when the form has one."
    )
    nib: str | None = Field(default=None, pattern=r"^[0-9]{13}$", description="NIB (OSS business identification number), if issued.")
    address: str = Field(min_length=5, max_length=300, description="Domicile of the entity; it decides the tax office (KPP).")
    email: Email
    phone: MobilePhone
    officers: list[EntityOfficer] = Field(min_length=1, max_length=10, description="Directors/managers, by NIK (their NPWP).")


class EntityNpwpOutput(CanonicalModel):
    npwp: Npwp = Field(description="The entity's 16-digit NPWP ('0' + the 15-digit form).")
    nitku: str = Field(pattern=r"^[0-9]{22}$", description="NITKU of the head office: the NPWP + '000000'.")
    registered_on: date
    tax_office_code: TaxOfficeCode
    tax_office_name: str = Field(min_length=1)
    agency_reference: str = Field(min_length=1, description="DJP's receipt number (bukti penerimaan).")


PAYLOADS: dict[str, ServicePayloads] = {
    "djp.npwp_activation": ServicePayloads(input=NpwpActivationInput, output=NpwpActivationOutput),
    "djp.kswp": ServicePayloads(input=KswpInput, output=KswpOutput),
    "djp.skf": ServicePayloads(input=SkfInput, output=SkfOutput),
    "djp.npwp_entity_registration": ServicePayloads(input=EntityNpwpInput, output=EntityNpwpOutput),
}
