"""Specification of the OSS adapter (adapters/oss/adapter.py).

Most tests replace OSS with an ``httpx.MockTransport`` that answers literal JSON, so
each test states what OSS says and what canonical outcome the adapter must make of
it; the last ones run the adapter against the simulator (``httpx.ASGITransport``).
Whatever OSS says, the adapter returns a report or raises one of the SDK's outcome
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

from adapters.oss import DEV_CREDENTIALS, plugin
from adapters.oss.adapter import RISK_MAP, OssAdapter, OssSettings
from adapters.oss.contract import NIK, command
from adapters.oss.native import SkalaResiko
from adapters.oss.simulator import create_app
from adapters.sdk import AdapterSettingsError, AgencyAnswerInvalid, AgencyRejection, TransientBackendError
from adapters.sdk.base import BackendStyle
from adapters.sdk.testing.clock import WIB
from schemas.lifecycle import Status
from schemas.services.oss import NibRegistrationOutput
from support.samples import STEP_ID, oss_permohonan

NIB = "9120001234567"

Handler = Callable[[httpx.Request], httpx.Response]


def nib_data(**changes: Any) -> dict[str, Any]:
    data = {
        "nomor_referensi": str(STEP_ID),
        "nib": NIB,
        "tgl_terbit_nib": "2026-01-14",
        "kbli": "56103",
        "judul_kbli": "Kedai Makanan",
        "skala_resiko": "R",
        "status_perizinan": "NIB_BERLAKU_SEBAGAI_IZIN",
        "keterangan": "NIB berlaku sebagai perizinan berusaha.",
    }
    return {**data, **changes}


def token_reply(token: str = "tok-1", expires_in: int = 300) -> httpx.Response:
    return httpx.Response(
        200, json={"status": 200, "message": "Sukses", "data": {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}}
    )


def issued(**changes: Any) -> httpx.Response:
    return httpx.Response(201, json={"status": 201, "message": "NIB berhasil diterbitkan.", "data": nib_data(**changes)})


def refused(status: int, kode: str, message: str = "Ditolak.") -> httpx.Response:
    return httpx.Response(status, json={"status": status, "message": message, "data": None, "kode": kode, "rincian": None})


class FakeOss:
    """Answers the token endpoint with fresh tokens and the API with ``api`` answers in turn."""

    def __init__(self, *api: httpx.Response, token_answer: httpx.Response | None = None) -> None:
        self.api = list(api)
        self.token_answer = token_answer
        self.requests: list[httpx.Request] = []
        self.tokens = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/oss/api/v1/auth/token":
            self.tokens += 1
            return self.token_answer or token_reply(f"tok-{self.tokens}")
        return self.api.pop(0)

    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path != "/oss/api/v1/auth/token"]


class Ticker:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def settings(**changes: Any) -> OssSettings:
    return OssSettings.model_validate({**DEV_CREDENTIALS, "base_url": "http://oss.test", "retry_attempts": 1, **changes})


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
async def make(ticker: Ticker) -> AsyncIterator[Callable[[Handler], OssAdapter]]:
    made: list[OssAdapter] = []

    def build(handler: Handler) -> OssAdapter:
        adapter = OssAdapter(settings(), transport=httpx.MockTransport(handler), clock=ticker)
        made.append(adapter)
        return adapter

    yield build
    for adapter in made:
        await adapter.aclose()


# --- declaration and settings --------------------------------------------------------------


def test_the_adapter_registers_nibs_and_is_polled_for_building_approvals() -> None:
    # NIBs are still answered at once (the registration tests above get COMPLETED from
    # execute); building approvals (adapters/oss/pbg.py) are polled.
    assert OssAdapter.style is BackendStyle.POLLING
    assert OssAdapter.operations == frozenset({"nib_registration", "pbg_application"})


def test_missing_credentials_stop_the_adapter_naming_the_variables() -> None:
    from adapters.sdk import BackendSettings

    with pytest.raises(AdapterSettingsError) as caught:
        plugin.adapter(BackendSettings(base_url="http://oss.test"))  # type: ignore[arg-type]

    assert set(caught.value.variables) == {"MPP_AGENCIES__OSS__USER_KEY", "MPP_AGENCIES__OSS__USERNAME", "MPP_AGENCIES__OSS__PASSWORD"}


# --- the request ----------------------------------------------------------------------------


async def test_the_registration_is_sent_in_oss_words_with_user_key_token_and_the_step_id_as_reference(
    make: Callable[[Handler], OssAdapter],
) -> None:
    oss = FakeOss(issued())
    await make(oss).execute(command(), STEP_ID)

    token_request, api_request = oss.requests
    assert token_request.headers["user_key"] == DEV_CREDENTIALS["user_key"]
    assert json.loads(token_request.content) == {"username": DEV_CREDENTIALS["username"], "password": DEV_CREDENTIALS["password"]}
    assert api_request.headers["user_key"] == DEV_CREDENTIALS["user_key"]
    assert api_request.headers["Authorization"] == "Bearer tok-1"
    assert json.loads(api_request.content) == oss_permohonan(nomor_referensi=str(STEP_ID), nik_penanggung_jwb=NIK)


async def test_the_log_masks_the_nik_and_never_shows_a_credential(
    make: Callable[[Handler], OssAdapter], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="adapters.oss")
    await make(FakeOss(issued())).execute(command(), STEP_ID)

    for secret in (NIK, DEV_CREDENTIALS["user_key"], DEV_CREDENTIALS["password"], "tok-1"):
        assert secret not in caplog.text


# --- outcomes --------------------------------------------------------------------------------


async def test_a_low_risk_nib_is_the_licence_itself(make: Callable[[Handler], OssAdapter]) -> None:
    report = await make(FakeOss(issued())).execute(command(), STEP_ID)

    assert report.status is Status.COMPLETED
    assert (report.agency_ref, report.agency_status) == (NIB, "NIB_BERLAKU_SEBAGAI_IZIN")
    assert report.outputs == {
        "nib": NIB,
        "issued_on": "2026-01-14",
        "kbli": "56103",
        "risk_level": "low",
        "licence_complete": True,
        "further_licence": None,
        "note": "NIB berlaku sebagai perizinan berusaha.",
    }


@pytest.mark.parametrize(
    ("code", "status", "risk", "further"),
    [
        ("MR", "WAJIB_SERTIFIKAT_STANDAR", "medium_low", "standard_certificate"),
        ("MT", "WAJIB_SERTIFIKAT_STANDAR_TERVERIFIKASI", "medium_high", "verified_standard_certificate"),
        ("T", "WAJIB_IZIN", "high", "permit"),
    ],
)
async def test_a_higher_risk_nib_completes_with_what_is_still_required(
    make: Callable[[Handler], OssAdapter], code: str, status: str, risk: str, further: str
) -> None:
    report = await make(FakeOss(issued(skala_resiko=code, status_perizinan=status, keterangan="Wajib lebih lanjut."))).execute(
        command(), STEP_ID
    )

    assert report.status is Status.COMPLETED
    assert (report.outputs["risk_level"], report.outputs["further_licence"], report.outputs["licence_complete"]) == (risk, further, False)
    assert report.outputs["note"] == "Wajib lebih lanjut."
    NibRegistrationOutput.model_validate(report.outputs)


def test_every_native_risk_code_has_a_canonical_level() -> None:
    assert set(RISK_MAP) == {r.value for r in SkalaResiko}


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (refused(422, "KBLI_TIDAK_DITEMUKAN", "KBLI 99999 tidak ditemukan."), "kbli_not_found"),
        (refused(422, "SKALA_USAHA_TIDAK_SESUAI"), "business_scale_mismatch"),
        (refused(429, "KUOTA_HABIS"), "agency_quota_exhausted"),
    ],
)
async def test_refusals_on_the_merits_are_rejections(make: Callable[[Handler], OssAdapter], answer: httpx.Response, code: str) -> None:
    with pytest.raises(AgencyRejection) as caught:
        await make(FakeOss(answer)).execute(command(), STEP_ID)

    assert caught.value.code == code
    assert caught.value.agency_code == answer.json()["kode"]


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (issued(skala_resiko="X"), "agency_status_unknown"),
        (issued(skala_resiko="MT"), "agency_answer_invalid"),  # status_perizinan says R's
        (issued(nomor_referensi="another-step"), "agency_answer_invalid"),
        (issued(kbli="10710"), "agency_answer_invalid"),
        (issued(nib="123"), "agency_answer_invalid"),
        (httpx.Response(201, text="<html>pemeliharaan</html>"), "agency_answer_invalid"),
        (httpx.Response(201, json={"status": 201, "message": "ok"}), "agency_answer_invalid"),
        (refused(409, "REFERENSI_BENTROK"), "agency_idempotency_conflict"),
        (refused(400, "DATA_TIDAK_VALID"), "agency_refused_request"),
        (httpx.Response(400, text="Bad Request"), "agency_answer_invalid"),
    ],
)
async def test_answers_that_make_no_sense_fail_with_the_reason(
    make: Callable[[Handler], OssAdapter], answer: httpx.Response, code: str
) -> None:
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await make(FakeOss(answer)).execute(command(), STEP_ID)

    assert caught.value.code == code


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_trouble_is_transient_with_the_retry_after(make: Callable[[Handler], OssAdapter], status: int) -> None:
    answer = refused(status, "SISTEM_SIBUK")
    answer.headers["Retry-After"] = "1"
    with pytest.raises(TransientBackendError) as caught:
        await make(FakeOss(answer)).execute(command(), STEP_ID)

    assert caught.value.retry_after == 1.0


async def test_input_oss_cannot_take_fails_before_calling_it(make: Callable[[Handler], OssAdapter]) -> None:
    oss = FakeOss()
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await make(oss).execute(command(kbli="5610"), STEP_ID)

    assert caught.value.code == "invalid_step_input"
    assert oss.requests == []


# --- tokens ----------------------------------------------------------------------------------


async def test_one_token_serves_many_calls_until_shortly_before_it_expires(make: Callable[[Handler], OssAdapter], ticker: Ticker) -> None:
    oss = FakeOss(issued(), issued(), issued())
    adapter = make(oss)

    await adapter.execute(command(), STEP_ID)
    ticker.now += 239  # 300 s token, refreshed 30 s early
    await adapter.execute(command(), STEP_ID)
    ticker.now += 32
    await adapter.execute(command(), STEP_ID)

    assert [r.headers["Authorization"] for r in oss.api_requests()] == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


async def test_a_refused_token_is_replaced_once_and_the_call_retried(make: Callable[[Handler], OssAdapter]) -> None:
    oss = FakeOss(refused(401, "TOKEN_TIDAK_VALID"), issued())

    report = await make(oss).execute(command(), STEP_ID)

    assert report.status is Status.COMPLETED
    assert [r.headers["Authorization"] for r in oss.api_requests()] == ["Bearer tok-1", "Bearer tok-2"]


async def test_a_fresh_token_refused_again_is_an_auth_failure(make: Callable[[Handler], OssAdapter]) -> None:
    oss = FakeOss(refused(401, "TOKEN_TIDAK_VALID"), refused(401, "TOKEN_TIDAK_VALID"))

    with pytest.raises(AgencyAnswerInvalid) as caught:
        await make(oss).execute(command(), STEP_ID)

    assert (caught.value.code, caught.value.agency_code) == ("agency_auth_failed", "TOKEN_TIDAK_VALID")
    assert oss.tokens == 2


async def test_a_refused_account_is_an_auth_failure_naming_the_settings(make: Callable[[Handler], OssAdapter]) -> None:
    oss = FakeOss(token_answer=refused(401, "KREDENSIAL_SALAH"))

    with pytest.raises(AgencyAnswerInvalid) as caught:
        await make(oss).execute(command(), STEP_ID)

    assert (caught.value.code, caught.value.agency_code) == ("agency_auth_failed", "KREDENSIAL_SALAH")
    assert "MPP_AGENCIES__OSS__USER_KEY" in caught.value.message
    assert DEV_CREDENTIALS["password"] not in caught.value.message


async def test_a_token_endpoint_outage_is_transient(make: Callable[[Handler], OssAdapter]) -> None:
    with pytest.raises(TransientBackendError):
        await make(FakeOss(token_answer=refused(503, "LAYANAN_TIDAK_TERSEDIA"))).execute(command(), STEP_ID)


# --- against the simulator -----------------------------------------------------------------


class WallClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 14, 9, 30, tzinfo=WIB)

    def __call__(self) -> datetime:
        return self.now


async def test_against_the_simulator_an_expired_token_is_renewed_and_the_step_applied_once(ticker: Ticker) -> None:
    from datetime import timedelta

    wall = WallClock()
    app = create_app(clock=wall)
    adapter = OssAdapter(settings(token_refresh_margin_seconds=0), transport=httpx.ASGITransport(app=app), clock=ticker)
    try:
        first = await adapter.execute(command(), STEP_ID)
        wall.now += timedelta(seconds=301)  # OSS expired the token; the adapter's clock did not notice
        again = await adapter.execute(command(), STEP_ID)
        high = await adapter.execute(command(kbli="21012", business_scale="small", capital=3_000_000_000), uuid.uuid4())
    finally:
        await adapter.aclose()
        app.state.runtime.ledger.close()

    assert first == again, "the repeat is the stored NIB"
    assert first.outputs["risk_level"] == "low" and first.outputs["licence_complete"] is True
    assert (high.outputs["risk_level"], high.outputs["further_licence"]) == ("high", "permit")
    assert "Izin" in high.outputs["note"]
    assert adapter.token_fetches == 2
