"""Hajj services (provided by the Ministry of Hajj and Umrah since 2025).

Regular hajj registration was Kemenag's (Ditjen PHU, system Siskohat) until UU
14/2025 and Perpres 92/2025 created the Kementerian Haji dan Umrah, which took over
Siskohat [S:KEMENHAJ]. What the service *means* did not change, so its payloads
live here, named by domain rather than by ministry; who provides it is catalogue
data (hub/catalogue/services/haji.toml).

Facts (sources by key in docs/domain-sources.md, "Hajj"): Muslim, age >= 12 at registration; **Rp25 million deposit**
at a hajj-deposit bank (BPS-BPIH), which issues a validation number; registration at
the regency/city office **within 5 working days** of the deposit; the result is the
SPPH slip with a **nomor porsi** (~10 digits) and an estimated departure year
[V:HAJI-GOID][S:HAJI-MENIT].
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Final

from pydantic import Field, StringConstraints

from schemas.services.base import CanonicalModel, ServicePayloads

#: Initial deposit (setoran awal) of the hajj cost, rupiah [V:HAJI-GOID].
INITIAL_DEPOSIT: Final[int] = 25_000_000


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


PAYLOADS: dict[str, ServicePayloads] = {
    "haji.regular_registration": ServicePayloads(input=RegularHajjRegistrationInput, output=RegularHajjRegistrationOutput),
}
