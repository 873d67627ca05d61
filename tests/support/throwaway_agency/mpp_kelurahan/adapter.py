"""The kelurahan adapter: one synchronous call, the step id as its idempotency key."""

from __future__ import annotations

import uuid
from typing import ClassVar

import httpx
from pydantic import SecretStr, ValidationError

from adapters.sdk import Adapter, AgencyAnswerInvalid, AgencyRejection, BackendSettings, TransientBackendError
from mpp_kelurahan.models import DomicileLetterInput, DomicileLetterOutput
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepStatusReport


class KelurahanSettings(BackendSettings):
    api_key: SecretStr


class KelurahanAdapter(Adapter):
    agency: ClassVar[str] = "kelurahan"
    operations: ClassVar[frozenset[str]] = frozenset({"domicile_letter"})

    def __init__(self, settings: BackendSettings) -> None:
        own = settings if isinstance(settings, KelurahanSettings) else KelurahanSettings.model_validate(settings.model_dump())
        super().__init__(own)
        self.client = httpx.AsyncClient(base_url=str(own.base_url), timeout=own.timeout_seconds, headers={"X-Api-Key": own.api_key.get_secret_value()})

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        data = DomicileLetterInput.model_validate(command.data)
        try:
            response = await self.client.post("/surat", json={"alamat": data.address}, headers={"Idempotency-Key": str(step_id)})
        except httpx.TransportError as exc:
            raise TransientBackendError(f"kelurahan unreachable: {type(exc).__name__}") from exc
        if response.status_code in (429, 502, 503, 504):
            raise TransientBackendError(f"kelurahan answered {response.status_code}")
        if response.status_code == 422:
            raise AgencyRejection("outside_area", "the address is not in this kelurahan", agency_code="DI_LUAR_WILAYAH")
        if response.status_code != 200:
            raise AgencyAnswerInvalid("unexpected_status", f"kelurahan answered {response.status_code}")
        try:
            body = response.json()
            outputs = DomicileLetterOutput(letter_number=body["nomor"], issued_on=body["tanggal"])
        except (ValueError, KeyError, TypeError, ValidationError):
            raise AgencyAnswerInvalid("agency_answer_invalid", "the answer is not the kelurahan's JSON") from None
        return StepStatusReport(status=Status.COMPLETED, outputs=outputs.model_dump(mode="json"), agency_status="TERBIT", agency_ref=outputs.letter_number)

    async def aclose(self) -> None:
        await self.client.aclose()
