"""Canonical payloads of the certificate of domicile."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from schemas.services.base import ServicePayloads

SERVICE = "kelurahan.domicile_letter"


class DomicileLetterInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(min_length=5, max_length=200, description="Where the applicant lives.")


class DomicileLetterOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    letter_number: str = Field(min_length=1)
    issued_on: date


PAYLOADS = {SERVICE: ServicePayloads(input=DomicileLetterInput, output=DomicileLetterOutput)}
