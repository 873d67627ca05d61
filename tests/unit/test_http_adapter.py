"""Specification of what every HTTP adapter inherits (adapters/sdk/http.py, base.py,
settings.py): settings narrowed once with errors that name the variable to set, step
input checked before the agency is called, transport failures and transient statuses
as ``TransientBackendError``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import ClassVar

import httpx
import pytest
from pydantic import BaseModel, Field

from adapters.sdk import AdapterSettingsError, AgencyAnswerInvalid, BackendSettings, TransientBackendError
from adapters.sdk.base import validated_answer
from adapters.sdk.http import HttpAdapter
from adapters.sdk.settings import ApiKeySettings
from adapters.sdk.testing.recording import RecordedAdapters, RecordingTransport, fail_with, recorded_adapters
from schemas.identifiers import Nik
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepStatusReport

SECRET = "rahasia-jangan-bocor"
NIK = "1375015203900007"
STEP_ID = uuid.UUID("8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a")


class ContohSettings(ApiKeySettings):
    poll_interval_seconds: float = Field(default=30.0, gt=0)
    timeout_seconds: float = Field(default=20.0, gt=0)


class ContohInput(BaseModel):
    nik: Nik
    count: int


class ContohNative(BaseModel):
    jumlah: int = Field(le=10)


class ContohAdapter(HttpAdapter):
    agency: ClassVar[str] = "contoh"
    label: ClassVar[str] = "Contoh"
    operations: ClassVar[frozenset[str]] = frozenset({"do_it"})
    settings_model: ClassVar[type[BackendSettings]] = ContohSettings
    api_key_header: ClassVar[str | None] = "X-Api-Key"

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        self.check_operation(command)
        data = self.parse_input(ContohInput, command)
        with self.native_request():
            native = ContohNative(jumlah=data.count)
        response = await self.send("POST", "/x", what="submission", json=native.model_dump())
        if response.status_code != 200:
            raise self.transient_error(response, what="submission") or AgencyAnswerInvalid("agency_refused_request", "no")
        return StepStatusReport(status=Status.COMPLETED)


def generic(**values: object) -> BackendSettings:
    """As the hub holds them: plain BackendSettings, the agency's fields as extras."""
    return BackendSettings.model_validate({"base_url": "http://contoh.test", **values})


def command(operation: str = "do_it", **data: object) -> StepCommand:
    return StepCommand(
        service="contoh.layanan",
        operation=operation,
        applicant={"nik": NIK, "name": "Siti Rahmah"},
        data={"nik": NIK, "count": 1, **data},  # type: ignore[arg-type]
    )


@pytest.fixture
async def make_adapter() -> AsyncIterator[RecordedAdapters[ContohAdapter, RecordingTransport]]:
    async with recorded_adapters(
        lambda transport: ContohAdapter(generic(api_key=SECRET, timeout_seconds=0.5), transport=transport)
    ) as make:
        yield make


# --- settings narrowing ------------------------------------------------------------------


def test_the_generic_settings_are_narrowed_once_into_the_agency_model() -> None:
    narrowed = ContohAdapter(generic(api_key=SECRET, poll_interval_seconds="5")).settings
    assert isinstance(narrowed, ContohSettings)
    assert narrowed.poll_interval_seconds == 5.0
    assert narrowed.timeout_seconds == 20.0, "a field left unset takes the agency's default"
    assert ContohAdapter.narrow_settings(narrowed) is narrowed


def test_a_missing_field_names_the_variable_to_set() -> None:
    with pytest.raises(AdapterSettingsError) as caught:
        ContohAdapter(generic())
    assert "MPP_AGENCIES__CONTOH__API_KEY is required" in str(caught.value)
    assert caught.value.variables == ["MPP_AGENCIES__CONTOH__API_KEY"]


@pytest.mark.parametrize(
    ("values", "variable"),
    [({"api_key": "   "}, "API_KEY"), ({"api_key": SECRET, "poll_interval_seconds": "-1"}, "POLL_INTERVAL_SECONDS")],
    ids=["blank-secret", "negative-interval"],
)
def test_an_invalid_field_names_the_variable_and_never_echoes_a_value(values: dict[str, str], variable: str) -> None:
    with pytest.raises(AdapterSettingsError) as caught:
        ContohAdapter(generic(**values))
    assert f"MPP_AGENCIES__CONTOH__{variable} is invalid" in str(caught.value)
    assert SECRET not in str(caught.value) and "-1" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__, "the ValidationError (with values) is not chained"


def test_an_unknown_setting_is_refused_instead_of_ignored() -> None:
    with pytest.raises(AdapterSettingsError, match="MPP_AGENCIES__CONTOH__API_KEYY is not a setting"):
        ContohAdapter(generic(api_key=SECRET, api_keyy=SECRET))


def test_an_api_key_header_without_an_api_key_setting_is_refused_at_class_creation() -> None:
    with pytest.raises(TypeError, match="ApiKeySettings"):

        class Keyless(HttpAdapter):
            agency: ClassVar[str] = "keyless"
            operations: ClassVar[frozenset[str]] = frozenset()
            api_key_header: ClassVar[str | None] = "X-Api-Key"


# --- what the base does before and around the call ------------------------------------------


async def test_the_client_carries_base_url_timeout_and_the_agency_headers(make_adapter) -> None:
    adapter, backend = make_adapter(lambda _: httpx.Response(200))
    await adapter.execute(command(), STEP_ID)
    [request] = backend.requests
    assert str(request.url) == "http://contoh.test/x"
    assert request.headers["X-Api-Key"] == SECRET
    assert request.extensions["timeout"]["read"] == 0.5


async def test_step_input_that_does_not_fit_fails_before_the_call_naming_fields_not_values(make_adapter) -> None:
    adapter, backend = make_adapter(lambda _: httpx.Response(200))
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(command(nik="1375019999990007", count="banyak"), STEP_ID)
    assert caught.value.code == "invalid_step_input"
    assert "nik" in caught.value.message and "count" in caught.value.message
    assert "1375019999990007" not in caught.value.message and "banyak" not in caught.value.message
    assert caught.value.__cause__ is None
    assert backend.requests == []


async def test_input_the_native_format_refuses_is_invalid_step_input_too(make_adapter) -> None:
    adapter, backend = make_adapter(lambda _: httpx.Response(200))
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(command(count=11), STEP_ID)
    assert caught.value.code == "invalid_step_input"
    assert "Contoh's format" in caught.value.message and "jumlah" in caught.value.message
    assert backend.requests == []


async def test_an_operation_not_declared_is_refused_before_the_call(make_adapter) -> None:
    adapter, backend = make_adapter(lambda _: httpx.Response(200))
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(command("launch_rocket"), STEP_ID)
    assert caught.value.code == "unsupported_operation"
    assert backend.requests == []


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (httpx.ReadTimeout("slow"), "Contoh submission timed out after 0.5s"),
        (httpx.ConnectError("refused"), "Contoh submission connection failed: ConnectError"),
    ],
    ids=["timeout", "connection"],
)
async def test_transport_failures_are_transient(make_adapter, error: Exception, says: str) -> None:
    adapter, _ = make_adapter(fail_with(error))
    with pytest.raises(TransientBackendError, match=says):
        await adapter.execute(command(), STEP_ID)


@pytest.mark.parametrize("status", [408, 425, 500, 502, 503, 504])
async def test_transient_statuses_are_transient_with_the_agencys_retry_after(make_adapter, status: int) -> None:
    adapter, _ = make_adapter(lambda _: httpx.Response(status, headers={"Retry-After": "7"}))
    with pytest.raises(TransientBackendError, match=f"Contoh submission HTTP {status}") as caught:
        await adapter.execute(command(), STEP_ID)
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422, 429])
async def test_other_statuses_are_left_to_the_agency_mapping(make_adapter, status: int) -> None:
    adapter, _ = make_adapter(lambda _: httpx.Response(status))
    with pytest.raises(AgencyAnswerInvalid):
        await adapter.execute(command(), STEP_ID)


# --- what the base does with the agency's answer -----------------------------------------


def test_an_answer_that_cannot_make_the_services_output_is_invalid_naming_fields_not_values() -> None:
    adapter = ContohAdapter(generic(api_key=SECRET))
    with pytest.raises(AgencyAnswerInvalid) as caught, adapter.canonical_output():
        ContohInput(nik=NIK, count="banyak")  # type: ignore[arg-type]
    assert caught.value.code == "agency_answer_invalid"
    assert "Contoh's answer does not fit the service's output" in caught.value.message and "count" in caught.value.message
    assert "banyak" not in caught.value.message and caught.value.__cause__ is None


def test_a_completed_step_carries_the_output_and_the_agencys_own_status_and_reference() -> None:
    report = ContohAdapter.completed(ContohNative(jumlah=3), "SELESAI", "R" * 300)
    assert (report.status, report.outputs, report.agency_status, report.agency_ref) == (
        Status.COMPLETED,
        {"jumlah": 3},
        "SELESAI",
        "R" * 200,
    )
    assert ContohAdapter.completed(ContohNative(jumlah=3), "SELESAI").agency_ref is None


def test_an_answer_that_does_not_fit_its_model_is_the_agencys_fault_named_without_values() -> None:
    class Answer(BaseModel):
        nomor: str = Field(pattern=r"^[0-9]{4}$")

    assert validated_answer(Answer, {"nomor": "1234"}, "unused") == Answer(nomor="1234")
    with pytest.raises(AgencyAnswerInvalid) as caught:
        validated_answer(Answer, {"nomor": "rahasia-99"}, "X's receipt does not match its schema", code="agency_output_invalid")

    assert caught.value.code == "agency_output_invalid"
    assert caught.value.message.startswith("X's receipt does not match its schema: nomor")
    assert "rahasia-99" not in caught.value.message
