"""Hajj services (provided by the Ministry of Hajj and Umrah since 2025).

Regular hajj registration was Kemenag's (Ditjen PHU, system Siskohat) until UU
14/2025 and Perpres 92/2025 created the Kementerian Haji dan Umrah, which took over
Siskohat [S:KEMENHAJ]. What the services *mean* did not change, so their payloads
live here, named by domain rather than by ministry; who provides them is catalogue
data (adapters/kemenhaj/catalogue.toml).

Facts (sources by key in docs/domain-sources.md, "Hajj"): Muslim, age >= 12 at registration; **Rp25 million deposit**
at a hajj-deposit bank (BPS-BPIH), which issues a validation number; registration at
the regency/city office **within 5 working days** of the deposit; the result is the
SPPH slip with a **nomor porsi** (~10 digits) and an estimated departure year
[V:HAJI-GOID][S:HAJI-MENIT].

Cancellation (pembatalan): by the registrant (health or other reasons) or by the
heirs when the registrant died; the deposit goes back to the registrant's (or the
heirs') account at the BPS-BPIH bank without deduction, in about nine days across
the office, the ministry, BPKH and the bank [S:HAJI-BATAL][S:HAJI-REFUND].
Portion transfer (pelimpahan nomor porsi): when the registrant died (on or after
29 Apr 2019, the day UU 8/2019 was enacted, and before departure) or is
permanently ill, the portion passes once to a spouse, father, mother, child or
sibling named by the family [S:HAJI-PELIMPAHAN].
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Final, Self

from pydantic import Field, StringConstraints, model_validator

from schemas.identifiers import Nik
from schemas.services.base import CanonicalModel, ServicePayloads

#: Initial deposit (setoran awal) of the hajj cost, rupiah [V:HAJI-GOID].
INITIAL_DEPOSIT: Final[int] = 25_000_000
#: A registrant who died before this day (UU 8/2019 enacted) cannot pass the portion on [S:HAJI-PELIMPAHAN].
TRANSFER_DEATHS_FROM: Final[date] = date(2019, 4, 29)

PortionNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{10}$")]
_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class RegularHajjRegistrationInput(CanonicalModel):
    """Pendaftaran haji reguler, after the deposit was paid at a BPS-BPIH bank."""

    deposit_bank: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = Field(
        description="The BPS-BPIH bank (hajj-deposit bank) that took the deposit."
    )
    deposit_validation_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] = Field(
        description="Validation number the bank issues for the deposit."
    )
    deposit_amount: int = Field(ge=INITIAL_DEPOSIT, description="Rupiah; at least the Rp25 million initial deposit.")
    deposit_date: date = Field(description="Registration must follow within 5 working days.")
    family_card_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{16}$")] = Field(
        description="No. KK (16-digit family card number)."
    )
    registration_office: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")] = Field(
        description="Regency/city code of the registering office, e.g. '1375' (Kota Bukittinggi).", examples=["1375"]
    )
    health_certificate_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class RegularHajjRegistrationOutput(CanonicalModel):
    portion_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{10}$")] = Field(
        description="Nomor porsi (queue number, ~10 digits) on the SPPH slip.", examples=["0301234567"]
    )
    spph_number: str = Field(min_length=1, description="Number of the SPPH registration slip.")
    registered_on: date
    estimated_departure_year: int = Field(ge=2025, le=2200, description="Waiting time is ~26 years nationally, per province.")
    deposit_validation_number: str = Field(min_length=1, description="The deposit's validation number as the BPS-BPIH bank confirmed it.")


class CancellationReason(StrEnum):
    """Why a registration is cancelled [S:HAJI-BATAL]."""

    WITHDRAWN = "withdrawn"  # the registrant withdraws (health or other reasons)
    DIED = "died"  # the heirs cancel for a registrant who died


class HajjCancellationInput(CanonicalModel):
    """Pembatalan pendaftaran haji reguler: the applicant is the registrant, or the heirs' proxy when the registrant died."""

    portion_number: PortionNumber = Field(description="Nomor porsi of the registration to cancel.")
    registrant_nik: Nik = Field(description="NIK of the registrant (the applicant's own when withdrawing).")
    reason: CancellationReason
    refund_account_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{6,20}$")] = Field(
        description="Hajj savings account at the same BPS-BPIH bank, in the registrant's (or the heir's) name."
    )
    death_certificate_number: _Text | None = Field(default=None, description="Required when reason is 'died'.")

    @model_validator(mode="after")
    def _death_needs_a_certificate(self) -> Self:
        if self.reason is CancellationReason.DIED and self.death_certificate_number is None:
            raise ValueError("a cancellation because the registrant died needs death_certificate_number")
        return self


class HajjCancellationOutput(CanonicalModel):
    portion_number: PortionNumber
    cancelled_on: date
    refund_amount: int = Field(ge=0, description="Rupiah returned without deduction: the deposit paid.")
    refund_expected_by: date = Field(description="When the refund should reach the account (about nine days).")


class TransferGround(StrEnum):
    """When a portion may pass to an heir [S:HAJI-PELIMPAHAN]."""

    DIED = "died"
    PERMANENTLY_ILL = "permanently_ill"


class HeirRelationship(StrEnum):
    """Who may receive the portion: only these relatives [S:HAJI-PELIMPAHAN]."""

    SPOUSE = "spouse"
    FATHER = "father"
    MOTHER = "mother"
    CHILD = "child"
    SIBLING = "sibling"


class HajjPortionTransferInput(CanonicalModel):
    """Pelimpahan nomor porsi: the applicant is the heir named by the family."""

    portion_number: PortionNumber
    registrant_nik: Nik = Field(description="NIK of the registrant who died or is permanently ill.")
    ground: TransferGround
    heir_nik: Nik = Field(description="NIK of the heir who takes the portion over.")
    heir_name: _Text
    relationship: HeirRelationship = Field(description="The heir's relationship to the registrant.")
    death_date: date | None = Field(default=None, description="Required when ground is 'died': on or after 29 Apr 2019.")
    certificate_number: _Text = Field(description="Death certificate (Dukcapil) or a government hospital's permanent-illness statement.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.ground is TransferGround.DIED and self.death_date is None:
            raise ValueError("a transfer because the registrant died needs death_date")
        if self.heir_nik == self.registrant_nik:
            raise ValueError("the heir must be another person than the registrant")
        return self


class HajjPortionTransferOutput(CanonicalModel):
    portion_number: PortionNumber = Field(description="The same nomor porsi, now the heir's.")
    spph_number: str = Field(min_length=1, description="The heir's new SPPH slip.")
    transferred_on: date
    estimated_departure_year: int = Field(ge=2025, le=2200, description="The portion keeps its place in the queue [I].")


PAYLOADS: dict[str, ServicePayloads] = {
    "haji.regular_registration": ServicePayloads(input=RegularHajjRegistrationInput, output=RegularHajjRegistrationOutput),
    "haji.cancellation": ServicePayloads(input=HajjCancellationInput, output=HajjCancellationOutput),
    "haji.portion_transfer": ServicePayloads(input=HajjPortionTransferInput, output=HajjPortionTransferOutput),
}
