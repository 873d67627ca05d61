"""Building approval (Persetujuan Bangunan Gedung, PBG) through SIMBG, at the DPMPTSP counter.

PBG replaced the IMB building permit under the Job Creation law and PP 16/2021. The
applicant registers in SIMBG (Sistem Informasi Manajemen Bangunan Gedung) with their
data, the building's data and its technical plan; the technical office checks the
file, its expert team (TPA) examines the plan in a technical consultation and the
office issues the statement of compliance with technical standards (SPPST); then the
regional retribution is set and paid, and only then does the DPMPTSP issue the PBG
(PP 16/2021 art. 261(1)) [S:PBG-DETIK]. A simple house built to one of the ministry's
prototype designs (Kepmen PUPR 2947/KPTS/M/2024) needs no check of its specification
[S:PBG-PROTOTIPE]: the building's risk decides the path.

Facts by key in docs/domain-sources.md ("OSS-RBA").
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field

from schemas.services.base import CanonicalModel
from schemas.services.halal import Text


class BuildingFunction(StrEnum):
    RESIDENTIAL = "residential"  # fungsi hunian
    BUSINESS = "business"  # fungsi usaha
    MIXED = "mixed"  # fungsi campuran


class ReviewPath(StrEnum):
    """How the plan was checked: the building's risk decides [S:PBG-PROTOTIPE][I]."""

    PROTOTYPE = "prototype"  # a simple house to a ministry prototype design: no specification check
    TECHNICAL_CONSULTATION = "technical_consultation"  # the TPA examines the technical plan


class PbgApplicationInput(CanonicalModel):
    """The owner applies for the approval of a building to be built (the applicant is the owner)."""

    building_function: BuildingFunction
    floors: int = Field(ge=1, le=100, description="Storeys above ground.")
    floor_area_m2: int = Field(ge=1, le=1_000_000, description="Total floor area in square metres.")
    land_title_number: Text = Field(description="The land certificate (or other proof of the right to the land) the building stands on.")
    regency_code: str = Field(pattern=r"^[0-9]{4}$", description="Kemendagri code of the regency/city (as for the NIB).", examples=["1375"])
    technical_plan_reference: Text = Field(
        description="The technical plan document (architecture, structure, utilities) uploaded to SIMBG."
    )
    prototype_design: Text | None = Field(
        default=None,
        description="Code of the ministry's prototype design a simple house follows, e.g. 'T36-A1' (Kepmen PUPR 2947/KPTS/M/2024).",
    )


class PbgApplicationOutput(CanonicalModel):
    pbg_number: str = Field(min_length=1, max_length=100)
    issued_on: date
    review_path: ReviewPath
    sppst_number: str = Field(min_length=1, max_length=100, description="The statement of compliance with technical standards.")
    retribution_amount: int = Field(ge=0, description="Regional retribution paid for the PBG, rupiah.")
    retribution_billing_code: str = Field(min_length=1, max_length=50, description="The regional billing (SKRD) it was paid with.")
