"""Specification of the BPJS Kesehatan adapter (adapters/bpjs_kesehatan/adapter.py).

Most tests replace BPJS with an ``httpx.MockTransport`` answering literal envelopes,
so each test states what BPJS says and what canonical outcome the adapter must make
of it; the last ones run the adapter against the simulator (``httpx.ASGITransport``).
Whatever BPJS says, the adapter returns a report or raises one of the SDK's outcome
errors; it never crashes with anything else.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from adapters.bpjs_kesehatan import plugin
from adapters.bpjs_kesehatan.adapter import BpjsKesehatanAdapter, BpjsKesehatanSettings
from adapters.bpjs_kesehatan.native import tanda_tangan
from adapters.bpjs_kesehatan.simulator import create_app, nomor_kartu
from adapters.sdk import AdapterSettingsError, AgencyAnswerInvalid, AgencyRejection, BackendSettings, TransientBackendError
from adapters.sdk.base import BackendStyle
from adapters.sdk.testing.clock import WIB
from schemas.lifecycle import Status
from schemas.messages import Applicant, StepCommand
from schemas.services.jkn import JknStatusOutput
from support.samples import NIK, STEP_ID

NOW = datetime(2026, 1, 14, 9, 30, tzinfo=WIB)
CONS_ID, SECRET = "mpp-hub-bkt", "rahasia-konsumen"
KARTU = "0001234567890"

Handler = Callable[[httpx.Request], httpx.Response]


def command(nik: str = NIK, **data: Any) -> StepCommand:
    return StepCommand(
        service="bpjs.jkn_status",
        operation="jkn_status",
        applicant=Applicant(nik=nik, name="Siti Rahmah"),
        data={"purpose": "SKCK", **data},
    )


def settings(base_url: str = "http://bpjs.test") -> BpjsKesehatanSettings:
    return BpjsKesehatanSettings(base_url=base_url, cons_id=CONS_ID, secret=SECRET, retry_attempts=1)


def peserta(status: tuple[str, str] = ("0", "AKTIF"), jenis: str = "PPU", kelas: str | None = "1", **changes: Any) -> dict[str, Any]:
    member: dict[str, Any] = {
        "noKartu": KARTU,
        "nik": NIK,
        "statusPeserta": {"kode": status[0], "keterangan": status[1]},
        "jenisPeserta": {"kode": jenis, "keterangan": jenis},
        "provUmum": {"kdProvider": "0302P001", "nmProvider": "PUSKESMAS GUGUK PANJANG"},
        "tglTMT": "2015-03-01",
    }
    if kelas is not None:
        member["hakKelas"] = {"kode": kelas, "keterangan": f"KELAS {kelas}"}
    return {**member, **changes}


def ok(member: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    response = {"noPengecekan": "JKN2601140000001", "noReferensi": str(STEP_ID), "waktuPengecekan": "2026-01-14 09:30:00", "ulangan": False}
    return {"metaData": {"code": "200", "message": "OK"}, "response": {**response, "peserta": member or peserta(), **changes}}


def meta(code: str, message: str) -> dict[str, Any]:
    return {"metaData": {"code": code, "message": message}, "response": None}


@pytest.fixture
def sent() -> list[httpx.Request]:
    return []


def mock(sent: list[httpx.Request], status: int, body: Any) -> BpjsKesehatanAdapter:
    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(status, content=body if isinstance(body, bytes) else json.dumps(body).encode())

    return BpjsKesehatanAdapter(settings(), transport=httpx.MockTransport(handle), clock=NOW.timestamp)


# ------------------------------------------------------------------ what it sends


async def test_every_request_is_signed_and_carries_the_step_id_as_reference(sent: list[httpx.Request]) -> None:
    adapter = mock(sent, 200, ok())
    await adapter.execute(command(card_number=KARTU), STEP_ID)

    [request] = sent
    timestamp = str(int(NOW.timestamp()))
    assert request.headers["X-cons-id"] == CONS_ID
    assert request.headers["X-timestamp"] == timestamp
    assert request.headers["X-signature"] == tanda_tangan(CONS_ID, timestamp, SECRET)
    assert SECRET not in str(request.headers) and SECRET.encode() not in request.content, "the secret never travels"
    assert json.loads(request.content) == {
        "noReferensi": str(STEP_ID), "nik": NIK, "noKartu": KARTU, "keperluan": "SKCK", "tglPelayanan": "2026-01-14",
    }  # fmt: skip


def test_the_adapter_is_synchronous_and_needs_its_consumer_credentials() -> None:
    assert BpjsKesehatanAdapter.style is BackendStyle.SYNC
    with pytest.raises(AdapterSettingsError) as refused:
        plugin.adapter(BackendSettings(base_url="http://bpjs.test"))
    assert "MPP_AGENCIES__BPJS_KESEHATAN__CONS_ID" in str(refused.value)
    assert "MPP_AGENCIES__BPJS_KESEHATAN__SECRET" in str(refused.value)


async def test_input_that_does_not_fit_is_invalid_step_input_before_bpjs_is_called(sent: list[httpx.Request]) -> None:
    with pytest.raises(AgencyAnswerInvalid) as failed:
        await mock(sent, 200, ok()).execute(command(card_number="12345"), STEP_ID)
    assert failed.value.code == "invalid_step_input"
    assert sent == []


# ------------------------------------------------------------------ what it makes of answers


async def test_an_active_member_completes_with_masked_card_and_checked_at(sent: list[httpx.Request]) -> None:
    report = await mock(sent, 200, ok()).execute(command(), STEP_ID)

    assert report.status is Status.COMPLETED
    assert (report.agency_status, report.agency_ref) == ("AKTIF", "JKN2601140000001")
    output = JknStatusOutput.model_validate(report.outputs)
    assert (output.membership_status.value, output.inactive_reason, output.segment.value, output.care_class) == ("AKTIF", None, "PPU", 1)
    assert output.card_number_masked == "*********7890"
    assert (output.primary_care_facility_code, output.check_number) == ("0302P001", "JKN2601140000001")
    assert output.checked_at == NOW


@pytest.mark.parametrize(("kode", "reason"), [("1", "contributions_in_arrears"), ("2", "pbi_deactivated"), ("3", "employment_ended")])
async def test_an_inactive_member_is_a_completed_check_with_the_reason(sent: list[httpx.Request], kode: str, reason: str) -> None:
    report = await mock(sent, 200, ok(peserta(status=(kode, "TIDAK AKTIF")))).execute(command(), STEP_ID)

    assert report.status is Status.COMPLETED, "the composite decides what an inactive membership means"
    assert (report.outputs["membership_status"], report.outputs["inactive_reason"]) == ("TIDAK_AKTIF", reason)


async def test_a_member_without_a_stated_class_has_none(sent: list[httpx.Request]) -> None:
    report = await mock(sent, 200, ok(peserta(kelas=None))).execute(command(), STEP_ID)
    assert report.outputs["care_class"] is None


@pytest.mark.parametrize(
    ("code", "canonical"),
    [("201", "jkn_not_registered"), ("202", "jkn_card_mismatch"), ("429", "agency_quota_exhausted")],
)
async def test_refusals_on_the_merits_come_with_http_200_and_are_rejections(sent: list[httpx.Request], code: str, canonical: str) -> None:
    with pytest.raises(AgencyRejection) as refused:
        await mock(sent, 200, meta(code, "Peserta tidak ditemukan.")).execute(command(), STEP_ID)
    assert (refused.value.code, refused.value.agency_code, refused.value.message) == (canonical, code, "Peserta tidak ditemukan.")


@pytest.mark.parametrize(
    ("status", "code", "canonical"),
    [
        (401, "401", "agency_auth_failed"),
        (409, "409", "agency_idempotency_conflict"),
        (400, "400", "agency_refused_request"),
        (200, "299", "agency_refused_request"),
    ],
)
async def test_bpjs_refusing_the_request_itself_is_failed_with_the_reason(
    sent: list[httpx.Request], status: int, code: str, canonical: str
) -> None:
    with pytest.raises(AgencyAnswerInvalid) as failed:
        await mock(sent, status, meta(code, "Signature tidak valid.")).execute(command(), STEP_ID)
    assert (failed.value.code, failed.value.agency_code) == (canonical, code)


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
async def test_transient_http_statuses_are_retryable(sent: list[httpx.Request], status: int) -> None:
    with pytest.raises(TransientBackendError):
        await mock(sent, status, meta(str(status), "Layanan sedang sibuk.")).execute(command(), STEP_ID)


async def test_a_connection_failure_is_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    adapter = BpjsKesehatanAdapter(settings(), transport=httpx.MockTransport(refuse), clock=NOW.timestamp)
    with pytest.raises(TransientBackendError, match="connection failed"):
        await adapter.execute(command(), STEP_ID)


async def test_an_unknown_member_status_is_failed_status_unknown(sent: list[httpx.Request]) -> None:
    with pytest.raises(AgencyAnswerInvalid) as failed:
        await mock(sent, 200, ok(peserta(status=("9", "DITANGGUHKAN")))).execute(command(), STEP_ID)
    assert (failed.value.code, failed.value.agency_code) == ("agency_status_unknown", "9")


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [
        (200, b"<html>gateway</html>", "not a metaData envelope"),
        (200, {"metaData": {"code": "200", "message": "OK"}, "response": "c2VtdWEgdGVyZW5rcmlwc2k="}, "not a JSON object"),
        (201, ok(), "metaData 200 with HTTP 201"),
        (200, ok(peserta(noKartu="123")), "does not match its schema"),
        (200, ok(peserta(jenis="ASING")), "unknown segment"),
        (200, ok(peserta(kelas="4")), "unknown class"),
        (200, ok(waktuPengecekan="14/01/2026"), "waktuPengecekan"),
        (200, ok(noReferensi="another-step"), "another check"),
        (200, ok(peserta(nik="1375015203900015")), "another member"),
    ],
)
async def test_answers_that_make_no_sense_are_invalid_never_a_crash(sent: list[httpx.Request], status: int, body: Any, why: str) -> None:
    with pytest.raises(AgencyAnswerInvalid) as failed:
        await mock(sent, status, body).execute(command(), STEP_ID)
    assert failed.value.code == "agency_answer_invalid"
    assert why in failed.value.message


async def test_an_answer_about_another_card_than_the_one_asked_is_invalid(sent: list[httpx.Request]) -> None:
    with pytest.raises(AgencyAnswerInvalid, match="another card number"):
        await mock(sent, 200, ok()).execute(command(card_number="0009999999999"), STEP_ID)


async def test_logs_never_carry_the_full_nik(sent: list[httpx.Request], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        await mock(sent, 200, ok()).execute(command(), STEP_ID)
    assert NIK not in caplog.text
    assert "1375**********07" in caplog.text


# ------------------------------------------------------------------ against the simulator


@pytest.fixture
async def live() -> AsyncIterator[tuple[BpjsKesehatanAdapter, httpx.AsyncClient]]:
    app = create_app(cons_id=CONS_ID, secret=SECRET, clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app)
    adapter = BpjsKesehatanAdapter(settings(), transport=transport, clock=NOW.timestamp)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bpjs.test") as control:
            yield adapter, control
    finally:
        await adapter.aclose()
        app.state.runtime.ledger.close()


async def test_against_the_simulator_active_inactive_and_not_registered(live: tuple[BpjsKesehatanAdapter, httpx.AsyncClient]) -> None:
    adapter, _ = live
    active = await adapter.execute(command(card_number=nomor_kartu(NIK)), uuid.uuid4())
    inactive = await adapter.execute(command("1375022708850081"), uuid.uuid4())
    with pytest.raises(AgencyRejection) as refused:
        await adapter.execute(command("1375010101900100"), uuid.uuid4())

    assert (active.status, active.outputs["membership_status"]) == (Status.COMPLETED, "AKTIF")
    assert active.outputs["card_number_masked"].endswith(nomor_kartu(NIK)[-4:])
    assert (inactive.outputs["membership_status"], inactive.outputs["inactive_reason"], inactive.outputs["segment"]) == (
        "TIDAK_AKTIF", "contributions_in_arrears", "PBPU",
    )  # fmt: skip
    assert refused.value.code == "jkn_not_registered"


async def test_against_the_simulator_a_clock_off_by_ten_minutes_is_an_auth_failure(
    live: tuple[BpjsKesehatanAdapter, httpx.AsyncClient],
) -> None:
    adapter, _ = live
    adapter._clock = lambda: NOW.timestamp() - 600  # the hub's clock drifted
    with pytest.raises(AgencyAnswerInvalid) as failed:
        await adapter.execute(command(), uuid.uuid4())
    assert (failed.value.code, failed.value.agency_code) == ("agency_auth_failed", "401")
    assert "berselisih 600 detik" in failed.value.message


async def test_against_the_simulator_a_repeat_of_the_step_is_the_same_check(live: tuple[BpjsKesehatanAdapter, httpx.AsyncClient]) -> None:
    adapter, control = live
    first = await adapter.execute(command(), STEP_ID)
    again = await adapter.execute(command(), STEP_ID)

    assert (again.outputs, again.agency_ref) == (first.outputs, first.agency_ref)
    assert (await control.get("/_sim/ledger")).json()["applied"] == 1
