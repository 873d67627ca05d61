"""The kelurahan adapter: one synchronous call, the step id as its idempotency key.

All it writes is its protocol: the SDK's HTTP base owns the client, the API key header,
timeouts and transient statuses; the worker owns retries, breaker and dead letters."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import ValidationError

from adapters.sdk import AgencyAnswerInvalid, AgencyRejection, BackendSettings
from adapters.sdk.http import HttpAdapter
from adapters.sdk.settings import ApiKeySettings
from mpp_kelurahan.models import DomicileLetterInput, DomicileLetterOutput
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepStatusReport


class KelurahanSettings(ApiKeySettings):
    """``MPP_AGENCIES__KELURAHAN__API_KEY`` and the common backend settings."""


class KelurahanAdapter(HttpAdapter):
    agency: ClassVar[str] = "kelurahan"
    operations: ClassVar[frozenset[str]] = frozenset({"domicile_letter"})
    settings_model: ClassVar[type[BackendSettings]] = KelurahanSettings
    api_key_header: ClassVar[str | None] = "X-Api-Key"
    transient_statuses: ClassVar[frozenset[int]] = HttpAdapter.transient_statuses | {429}

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        self.check_operation(command)
        data = self.parse_input(DomicileLetterInput, command)
        response = await self.send("POST", "/surat", json={"alamat": data.address}, headers={"Idempotency-Key": str(step_id)})
        if error := self.transient_error(response):
            raise error
        if response.status_code == 422:
            raise AgencyRejection("outside_area", "the address is not in this kelurahan", agency_code="DI_LUAR_WILAYAH")
        if response.status_code != 200:
            raise AgencyAnswerInvalid("unexpected_status", f"kelurahan answered {response.status_code}")
        try:
            body = response.json()
            outputs = DomicileLetterOutput(letter_number=body["nomor"], issued_on=body["tanggal"])
        except (ValueError, KeyError, TypeError, ValidationError):
            raise AgencyAnswerInvalid("agency_answer_invalid", "the answer is not the kelurahan's JSON") from None
        return StepStatusReport(
            status=Status.COMPLETED, outputs=outputs.model_dump(mode="json"), agency_status="TERBIT", agency_ref=outputs.letter_number
        )
