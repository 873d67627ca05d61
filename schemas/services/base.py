"""What a service's payload registry entry is, and what every payload model is."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, ConfigDict, model_validator


class CanonicalModel(BaseModel):
    """The base of every service payload model: a field the contract does not define is
    refused, never silently dropped, so the portal learns of its mistake and no stray
    (possibly personal) data travels on."""

    model_config = ConfigDict(extra="forbid")


class IssuedDocument(CanonicalModel):
    """An issued document valid for a while: it must expire after the day it was issued.
    Each subclass declares ``issued_on`` and ``valid_until`` itself, where its fields stand."""

    if TYPE_CHECKING:
        issued_on: date
        valid_until: date

    @model_validator(mode="after")
    def _valid_after_issue(self) -> Self:
        if self.valid_until <= self.issued_on:
            raise ValueError("valid_until must be after issued_on")
        return self


class ServicePayloads(BaseModel):
    """The canonical input (what the portal sends in ``data``) and output (what the
    agency's answer becomes) of one catalogue service."""

    input: type[BaseModel]
    output: type[BaseModel]
