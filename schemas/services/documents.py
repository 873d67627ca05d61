"""References to documents one agency issues and another agency asks for.

A police loss report (surat keterangan tanda lapor kehilangan, issued at the SPKT of a
Polres or Polsek) is the first paper of every replacement: Samsat asks for it before
a duplicate STNK, Imigrasi before a lost passport's replacement (docs/domain-sources.md,
"Polri", "Samsat" and "Imigrasi"). Its number is typed here once so that the Polri
output that issues it and the inputs that ask for it agree on its shape.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, ClassVar, Self

from pydantic import AfterValidator, Field, model_validator

from schemas.services.base import CanonicalModel


def _normalize_report_number(value: str) -> str:
    """Report numbers are typed in any case and with stray spaces around the slashes."""
    compact = "/".join(part.strip() for part in value.strip().upper().split("/"))
    if compact.count("/") < 3 or any(not part for part in compact.split("/")):
        raise ValueError("police report number must look like 'STPLK/0123/XII/2026/SPKT/POLRES BUKITTINGGI'")
    return compact


PoliceReportNumber = Annotated[
    str,
    Field(
        min_length=8,
        max_length=120,
        description=(
            "Number of the police loss report (surat keterangan tanda lapor kehilangan) as printed, "
            "e.g. 'STPLK/0123/XII/2026/SPKT/POLRES BUKITTINGGI' (the numbering is each unit's [I])."
        ),
        examples=["STPLK/0123/XII/2026/SPKT/POLRES BUKITTINGGI"],
    ),
    AfterValidator(_normalize_report_number),
]
"""A police loss report's number, upper-cased, without spaces around its slashes."""

__all__ = ["PoliceReportNumber"]


class ReplacesALoss(CanonicalModel):
    """An application to replace a lost or damaged document: a loss needs the police loss
    report, a damaged document is handed in instead. Each subclass declares ``reason``
    (its own enum, with ``lost``) and ``police_report_number`` where its fields stand."""

    #: The document replaced, as the error names it: "the STNK".
    replaced: ClassVar[str]

    if TYPE_CHECKING:
        reason: StrEnum
        police_report_number: str | None

    @model_validator(mode="after")
    def _police_report_when_lost(self) -> Self:
        if self.reason == "lost" and self.police_report_number is None:
            raise ValueError(f"police_report_number is required when {self.replaced} was lost")
        return self
