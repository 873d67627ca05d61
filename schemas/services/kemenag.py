"""Kemenag (Ministry of Religious Affairs) services carried out at a KUA.

The KUA (Kantor Urusan Agama, the ministry's office in each district) registers
Muslim marriages and keeps the marriage records. Facts below, with their sources by
key in docs/domain-sources.md ("Kemenag"):

* Registration at least **10 working days** before the ceremony, otherwise a
  dispensation from the sub-district head (camat) is needed [S:NIKAH-DESA].
* Documents: **N1** referral letter from the village office; **N5** parental
  consent for anyone under 21; a **court dispensation** (dispensasi kawin, from the
  religious court) for anyone under 19 (the minimum age since UU 16/2019); a divorce
  certificate or a death certificate / N6 when previously married [S:NIKAH-GRID].
* Fee: **Rp0** at the KUA in office hours, **Rp600,000** outside the KUA or after
  hours, paid to a bank (PNBP), never to staff [S:NIKAH-PDF].
* Premarital counselling (Bimwin, bimbingan perkawinan) before the ceremony.

Ages are derived from the birth date encoded in the NIK (the adapter decodes it with
:func:`schemas.identifiers.parse_nik` for SIMKAH's birth-date fields). Whether a
document is missing for an age is the KUA's decision, so the API accepts the request
and the KUA refuses it with a reason the portal can show.

Hajj registration and halal certification used to be Kemenag's too; they moved in
2025 and live in :mod:`schemas.services.haji` and :mod:`schemas.services.halal`.
"""

from __future__ import annotations

from datetime import date, time
from enum import StrEnum
from typing import Annotated, Final, Self

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from schemas.identifiers import BillingCode, Nik
from schemas.services.base import CanonicalModel, ServicePayloads
from schemas.services.documents import ReplacesALoss

#: Fee for a ceremony outside the KUA or after office hours, rupiah (PNBP) [S:NIKAH-PDF].
FEE_OUTSIDE_KUA: Final[int] = 600_000

#: Letter and register numbers are opaque strings issued by other offices.
DocumentNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]

#: A KUA is identified by the Kemendagri code of the district it serves, e.g. ``137501``
#: for KUA Guguak Panjang, Bukittinggi [V:WILAYAH]. [I: SIMKAH's own office ids differ.]
KuaCode = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{6}$"),
    Field(description="6-digit district code of the KUA, e.g. '137501' (Guguak Panjang, Bukittinggi).", examples=["137501"]),
]


#: Akta nikah (marriage certificate) number ``seq/KUA-code/month-in-roman/year`` [I].
def _upper(value: object) -> object:
    """Roman months are often typed in lower case ("iii"); one record, one spelling."""
    return value.strip().upper() if isinstance(value, str) else value


MarriageCertificateNumber = Annotated[
    str,
    BeforeValidator(_upper),
    StringConstraints(pattern=r"^[0-9]{1,5}/[0-9]{6}/(I|II|III|IV|V|VI|VII|VIII|IX|X|XI|XII)/[0-9]{4}$"),
    Field(description="Akta nikah number 'seq/KUA-code/month (roman)/year'.", examples=["0123/137501/III/2019"]),
]


class MaritalStatus(StrEnum):
    NEVER_MARRIED = "never_married"
    DIVORCED = "divorced"
    WIDOWED = "widowed"


def _require_previous_marriage_document(status: MaritalStatus, document: str | None, who: str) -> None:
    """The KUA asks for the divorce or death papers of anyone married before."""
    if status is not MaritalStatus.NEVER_MARRIED and document is None:
        raise ValueError(f"previous_marriage_document is required when {who} was married before")


class CeremonyPlace(StrEnum):
    """Where and when the akad (marriage ceremony) takes place; it decides the fee."""

    KUA_OFFICE_HOURS = "kua_office_hours"  # at the KUA, on a working day in office hours: Rp0
    OUTSIDE_KUA_OR_AFTER_HOURS = "outside_kua_or_after_hours"  # anywhere else or after hours: Rp600,000


class Spouse(CanonicalModel):
    """One of the couple (calon pengantin). Personal data: never logged unmasked."""

    nik: Nik
    name: str = Field(min_length=1, max_length=200, description="Full name as on the KTP.")
    marital_status: MaritalStatus = MaritalStatus.NEVER_MARRIED
    previous_marriage_document: DocumentNumber | None = Field(
        default=None, description="Divorce certificate (akta cerai) or death certificate / N6 number; required unless never married."
    )
    parental_consent_n5: DocumentNumber | None = Field(
        default=None, description="N5 parental consent letter number; the KUA requires it under 21."
    )

    @model_validator(mode="after")
    def _previous_marriage_documented(self) -> Self:
        _require_previous_marriage_document(self.marital_status, self.previous_marriage_document, "the person")
        return self


class MarriageRegistrationInput(CanonicalModel):
    """Pendaftaran nikah at a KUA. The applicant must be the groom or the bride."""

    groom: Spouse
    bride: Spouse
    ceremony_date: date
    ceremony_time: time | None = Field(default=None, description="Local time (WIB) of the akad; the KUA picks 09:00 if omitted.")
    ceremony_place: CeremonyPlace
    ceremony_address: str | None = Field(default=None, max_length=500, description="Address when the akad is outside the KUA.")
    kua_code: KuaCode
    n1_number: DocumentNumber = Field(description="N1 referral letter (surat pengantar) number from the village office.")
    court_dispensation_number: DocumentNumber | None = Field(
        default=None, description="Religious-court marriage dispensation (dispensasi kawin); the KUA requires it under 19."
    )
    short_notice_dispensation_number: DocumentNumber | None = Field(
        default=None, description="Sub-district head's (camat) dispensation when registering less than 10 working days ahead."
    )

    @model_validator(mode="after")
    def _two_people(self) -> Self:
        if self.groom.nik == self.bride.nik:
            raise ValueError("groom and bride must be two different people (same NIK given twice)")
        return self


class MarriageRegistrationOutput(CanonicalModel):
    registration_number: str = Field(min_length=1, description="KUA registration number (nomor pendaftaran).")
    registered_on: date
    ceremony_date: date
    ceremony_time: time = Field(description="Scheduled local time (WIB) of the akad.")
    ceremony_place: CeremonyPlace
    kua_code: KuaCode
    kua_name: str = Field(min_length=1)
    fee: int = Field(ge=0, description="Rupiah: 0 at the KUA in office hours, 600,000 outside or after hours.")
    billing_code: BillingCode | None = Field(default=None, description="PNBP billing code to pay the fee at a bank; only when fee > 0.")
    premarital_counselling_required: bool = Field(description="Whether the couple must attend Bimwin (bimbingan perkawinan).")
    premarital_counselling_date: date | None = None

    @model_validator(mode="after")
    def _billing_with_fee(self) -> Self:
        if (self.fee > 0) != (self.billing_code is not None):
            raise ValueError("a billing code comes with a fee, and only with one")
        return self


class DuplicateReason(StrEnum):
    LOST = "lost"
    DAMAGED = "damaged"


class MarriageBookDuplicateInput(ReplacesALoss):
    """Duplikat buku nikah: a duplicate of a lost or damaged marriage book."""

    replaced = "the marriage book"

    marriage_certificate_number: MarriageCertificateNumber
    reason: DuplicateReason
    police_report_number: DocumentNumber | None = Field(
        default=None, description="Police loss report (surat keterangan kehilangan); required when lost."
    )


class MarriageBookDuplicateOutput(CanonicalModel):
    duplicate_number: str = Field(min_length=1, description="Number of the duplicate marriage book.")
    issued_on: date
    marriage_certificate_number: MarriageCertificateNumber
    kua_code: KuaCode


class MarriageRecommendationInput(CanonicalModel):
    """Rekomendasi nikah (numpang nikah): the applicant's home KUA recommends them to the KUA
    of another district where the akad will take place. The applicant is the groom or bride."""

    home_kua_code: KuaCode = Field(description="The KUA of the applicant's domicile (as on the KTP), which issues it.")
    destination_kua_code: KuaCode = Field(description="The KUA of the district where the akad will take place.")
    ceremony_date: date
    partner_name: str = Field(min_length=1, max_length=200, description="The other party's full name.")
    n1_number: DocumentNumber = Field(description="N1 referral letter (surat pengantar) number from the village office.")
    marital_status: MaritalStatus = MaritalStatus.NEVER_MARRIED
    previous_marriage_document: DocumentNumber | None = Field(
        default=None, description="Divorce certificate or death certificate / N6 number; required unless never married."
    )

    @model_validator(mode="after")
    def _another_district(self) -> Self:
        if self.home_kua_code == self.destination_kua_code:
            raise ValueError("no recommendation is needed to marry in one's own district (destination_kua_code = home_kua_code)")
        _require_previous_marriage_document(self.marital_status, self.previous_marriage_document, "the applicant")
        return self


class MarriageRecommendationOutput(CanonicalModel):
    recommendation_number: str = Field(min_length=1, description="Number of the recommendation letter (surat rekomendasi nikah).")
    issued_on: date
    issuing_kua_code: KuaCode
    issuing_kua_name: str = Field(min_length=1)
    destination_kua_code: KuaCode
    ceremony_date: date


PAYLOADS: dict[str, ServicePayloads] = {
    "kemenag.marriage_registration": ServicePayloads(input=MarriageRegistrationInput, output=MarriageRegistrationOutput),
    "kemenag.marriage_book_duplicate": ServicePayloads(input=MarriageBookDuplicateInput, output=MarriageBookDuplicateOutput),
    "kemenag.marriage_recommendation": ServicePayloads(input=MarriageRecommendationInput, output=MarriageRecommendationOutput),
}
