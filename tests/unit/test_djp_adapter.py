"""Specification of the DJP adapter (adapters/djp/adapter.py).

Most tests replace DJP with a scripted backend behind the SDK's recording transport that
issues tokens and answers API calls; each test states what DJP does and what the
adapter must make of it. The last group runs the adapter against the real simulator
(``httpx.ASGITransport``). Whatever DJP says, the adapter returns a report or raises
one of the SDK's outcome errors; it never crashes with anything else, and it never
lets the client secret or a token reach a log line or an error message.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from adapters.djp import plugin as djp_plugin
from adapters.djp.adapter import DjpAdapter, DjpSettings
from adapters.djp.contract import contract
from adapters.djp.native import PATH_TOKEN, PermohonanAktivasi
from adapters.djp.simulator import WIB, KonfigurasiSimulator, create_app
from adapters.sdk import AdapterSettingsError, AgencyAnswerInvalid, AgencyRejection, BackendSettings, TransientBackendError
from adapters.sdk.testing.recording import Handler, RecordingTransport, answer, fail_with, recorded_adapters
from schemas.lifecycle import Status
from schemas.messages import Applicant, StepCommand
from schemas.services.djp import KswpOutput, NpwpActivationOutput, SkfOutput
from support.samples import NIK, STEP_ID

NPWP_BADAN = "0012345674202000"
SECRET = "dev-djp-client-secret"

AKTIF: dict[str, Any] = {
    "status": "AKTIF",
    "npwp": NIK,
    "tanggal_aktivasi": "2026-01-14",
    "kode_kpp": "202",
    "nama_kpp": "KPP Pratama Bukittinggi",
    "aktivasi_baru": True,
    "nomor_tanda_terima": "BPS-202-20260114-000001",
}
KSWP_VALID: dict[str, Any] = {
    "status": "VALID",
    "npwp": NIK,
    "keperluan": "Izin usaha",
    "kriteria": [
        {"kode": "NPWP_AKTIF", "terpenuhi": True, "keterangan": "NPWP terdaftar dan aktif."},
        {"kode": "SPT_TAHUNAN_2_TAHUN", "terpenuhi": True, "keterangan": "SPT Tahunan lengkap."},
    ],
    "tahun_pajak_diperiksa": [2023, 2024],
    "waktu_konfirmasi": "2026-01-14T09:30:00+07:00",
}
SKF_TERBIT: dict[str, Any] = {
    "status": "TERBIT",
    "nomor_skf": "KET-00001/SKF/KPP.202/2026",
    "npwp": NPWP_BADAN,
    "kode_kpp": "202",
    "tanggal_terbit": "2026-01-14",
    "berlaku_sampai": "2026-02-14",
    "tahun_pajak_diperiksa": [2023, 2024],
    "masa_ppn_diperiksa": ["2025-09", "2025-10", "2025-11"],
}


def activation(nik: str = NIK, phone: str = "0812-3456-7890", email: str = "Siti@Example.ID") -> StepCommand:
    return StepCommand(
        service="djp.npwp_activation",
        operation="npwp_activation",
        applicant=Applicant(nik=nik, name="Siti Rahmah"),
        data={"email": email, "phone": phone},
    )


def kswp(npwp: str = NIK, purpose: str = "Izin usaha") -> StepCommand:
    return StepCommand(
        service="djp.kswp", operation="kswp", applicant=Applicant(nik=NIK, name="Siti Rahmah"), data={"npwp": npwp, "purpose": purpose}
    )


def skf(npwp: str = NPWP_BADAN, purpose: str = "Tender pengadaan") -> StepCommand:
    return StepCommand(
        service="djp.skf", operation="skf", applicant=Applicant(nik=NIK, name="Siti Rahmah"), data={"npwp": npwp, "purpose": purpose}
    )


def galat(kode: str, pesan: str = "ditolak", status: str = "DITOLAK", **extra: Any) -> dict[str, Any]:
    return {"status": status, "kode": kode, "pesan": pesan, **extra}


class Detik:
    """The adapter's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class FakeDjp(RecordingTransport):
    """A scripted DJP: issues tokens ``tok-1-...``, ``tok-2-...`` and refuses API calls
    whose token it did not issue (or revoked) with 401; other API answers come from ``api``."""

    def __init__(
        self, api: Handler, *, expires_in: float | None = 300, token_answer: Handler | None = None, token_delay: float = 0.0
    ) -> None:
        super().__init__(self.djp)
        self.api = api
        self.expires_in = expires_in
        self.token_answer = token_answer
        self.token_delay = token_delay
        self.valid: set[str] = set()
        self.issued: list[str] = []

    @property
    def token_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == PATH_TOKEN]

    @property
    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path != PATH_TOKEN]

    def revoke(self) -> None:
        self.valid.clear()

    async def djp(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == PATH_TOKEN:
            if self.token_delay:
                await asyncio.sleep(self.token_delay)
            if self.token_answer is not None:
                return self.token_answer(request)
            token = f"tok-{len(self.issued) + 1}-sangat-rahasia"
            self.issued.append(token)
            self.valid.add(token)
            body: dict[str, Any] = {"access_token": token, "token_type": "Bearer"}
            if self.expires_in is not None:
                body["expires_in"] = self.expires_in
            return httpx.Response(200, json=body)
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in self.valid:
            return httpx.Response(
                401,
                json=galat("TOKEN_TIDAK_VALID", status="GAGAL"),
                headers={"WWW-Authenticate": 'Bearer realm="DJP", error="invalid_token"'},
            )
        return self.api(request)


def settings(**overrides: Any) -> BackendSettings:
    """As the hub passes them: BackendSettings with DJP's extras (hub/config.py)."""
    return BackendSettings.model_validate(
        {"base_url": "http://djp.test", "timeout_seconds": 0.5, "oauth_client_id": "mpp-hub", "oauth_client_secret": SECRET, **overrides}
    )


MakeAdapter = Callable[..., tuple[DjpAdapter, FakeDjp, Detik]]


@pytest.fixture
async def make_adapter() -> AsyncIterator[MakeAdapter]:
    async with recorded_adapters(lambda djp, clock: DjpAdapter(settings(), transport=djp, clock=clock), FakeDjp) as adapters:

        def make(api: Handler = answer(200, AKTIF), **fake: Any) -> tuple[DjpAdapter, FakeDjp, Detik]:
            clock = Detik()
            adapter, djp = adapters(FakeDjp(api, **fake), clock)
            return adapter, djp, clock

        yield make


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize("missing", [("oauth_client_id",), ("oauth_client_secret",), ("oauth_client_id", "oauth_client_secret")])
def test_the_adapter_refuses_to_start_without_its_oauth_client(missing: tuple[str, ...]) -> None:
    incomplete = settings()
    for name in missing:
        delattr(incomplete, name)
    with pytest.raises(AdapterSettingsError) as exc:
        djp_plugin.adapter(incomplete)
    for name in missing:
        assert name in str(exc.value)
        assert f"MPP_AGENCIES__DJP__{name.upper()} is required" in str(exc.value), "names the variable to set"


def test_invalid_settings_name_the_field_but_never_echo_the_secret() -> None:
    with pytest.raises(AdapterSettingsError) as exc:
        DjpAdapter.narrow_settings(settings(oauth_client_secret="bocor-123", token_refresh_margin_seconds=-1))
    assert "token_refresh_margin_seconds" in str(exc.value)
    assert "bocor-123" not in str(exc.value)
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


def test_a_blank_secret_is_refused() -> None:
    with pytest.raises(AdapterSettingsError, match="oauth_client_secret"):
        DjpAdapter.narrow_settings(settings(oauth_client_secret="   "))


def test_validated_settings_hide_the_secret() -> None:
    djp = DjpAdapter.narrow_settings(settings())
    assert djp.oauth_client_secret.get_secret_value() == SECRET
    assert SECRET not in repr(djp) and SECRET not in str(djp)


# ------------------------------------------------------------- canonical -> native


async def test_activation_becomes_djps_native_request_with_the_step_id_as_key(make_adapter: MakeAdapter) -> None:
    adapter, backend, _ = make_adapter(answer(200, AKTIF))
    await adapter.execute(activation(phone="+62 812-3456-7890"), STEP_ID)

    [request] = backend.api_requests
    assert (request.method, request.url) == ("POST", httpx.URL("http://djp.test/api/v1/wajib-pajak/aktivasi"))
    body = json.loads(request.content)
    assert body == {"nik": NIK, "nama": "Siti Rahmah", "email": "Siti@example.id", "nomor_hp": "081234567890"}
    PermohonanAktivasi.model_validate(body)  # DJP's strict schema accepts it
    assert request.headers["X-Idempotency-Key"] == str(STEP_ID)
    assert request.headers["Authorization"] == f"Bearer {backend.issued[0]}"


async def test_kswp_is_a_get_by_npwp_with_the_purpose_and_no_idempotency_key(make_adapter: MakeAdapter) -> None:
    adapter, backend, _ = make_adapter(answer(200, {**KSWP_VALID, "npwp": NPWP_BADAN}))
    await adapter.execute(kswp(npwp="01.234.567.4-202.000", purpose="Sertifikasi halal (BPJPH)"), STEP_ID)

    [request] = backend.api_requests
    assert request.method == "GET"
    assert request.url.path == f"/api/v1/kswp/{NPWP_BADAN}", "legacy 15-digit input travels as the 16-digit NPWP"
    assert request.url.params["keperluan"] == "Sertifikasi halal (BPJPH)"
    assert "X-Idempotency-Key" not in request.headers


async def test_skf_becomes_a_post_with_npwp_and_keperluan(make_adapter: MakeAdapter) -> None:
    adapter, backend, _ = make_adapter(answer(201, SKF_TERBIT))
    await adapter.execute(skf(), STEP_ID)

    [request] = backend.api_requests
    assert (request.method, request.url.path) == ("POST", "/api/v1/skf")
    assert json.loads(request.content) == {"npwp": NPWP_BADAN, "keperluan": "Tender pengadaan"}
    assert request.headers["X-Idempotency-Key"] == str(STEP_ID)


async def test_each_step_sends_its_own_idempotency_key(make_adapter: MakeAdapter) -> None:
    adapter, backend, _ = make_adapter(answer(201, SKF_TERBIT))
    other = uuid.uuid4()
    await adapter.execute(skf(), STEP_ID)
    await adapter.execute(skf(), other)
    assert [r.headers["X-Idempotency-Key"] for r in backend.api_requests] == [str(STEP_ID), str(other)]


@pytest.mark.parametrize(
    "command",
    [activation(phone="021-5551234"), activation(email="bukan-email"), kswp(npwp="12345"), skf(purpose="")],
    ids=["landline", "bad-email", "bad-npwp", "no-purpose"],
)
async def test_step_input_that_does_not_match_the_service_never_reaches_djp(make_adapter: MakeAdapter, command: StepCommand) -> None:
    adapter, backend, _ = make_adapter()
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(command, STEP_ID)
    assert exc.value.code == "invalid_step_input"
    assert backend.api_requests == [] and backend.token_requests == []


# ------------------------------------------------------------- native -> canonical


async def test_activation_becomes_completed_with_the_nik_as_npwp(make_adapter: MakeAdapter) -> None:
    adapter, _, _ = make_adapter(answer(200, AKTIF))
    report = await adapter.execute(activation(), STEP_ID)

    assert report.status is Status.COMPLETED
    assert (report.agency_status, report.agency_ref) == ("AKTIF", "BPS-202-20260114-000001")
    output = NpwpActivationOutput.model_validate(report.outputs)
    assert output.npwp == NIK
    assert output.activated_on.isoformat() == "2026-01-14"
    assert (output.tax_office_code, output.tax_office_name) == ("202", "KPP Pratama Bukittinggi")
    assert output.already_active is False
    assert json.loads(json.dumps(report.outputs)) == report.outputs, "outputs travel as JSON"


async def test_an_already_active_nik_is_completed_too(make_adapter: MakeAdapter) -> None:
    adapter, _, _ = make_adapter(answer(200, {**AKTIF, "aktivasi_baru": False}))
    report = await adapter.execute(activation(), STEP_ID)
    assert report.status is Status.COMPLETED
    assert report.outputs["already_active"] is True


async def test_kswp_valid_is_completed_with_no_unmet_criteria(make_adapter: MakeAdapter) -> None:
    adapter, _, _ = make_adapter(answer(200, KSWP_VALID))
    report = await adapter.execute(kswp(), STEP_ID)
    output = KswpOutput.model_validate(report.outputs)
    assert report.status is Status.COMPLETED
    assert (output.status.value, output.unmet_criteria, output.tax_years_checked) == ("VALID", [], [2023, 2024])
    assert output.confirmed_at == datetime(2026, 1, 14, 9, 30, tzinfo=WIB)
    assert report.agency_ref is None, "a read has no reference"


async def test_kswp_tidak_valid_is_an_answer_not_a_failure(make_adapter: MakeAdapter) -> None:
    body = {
        **KSWP_VALID,
        "status": "TIDAK_VALID",
        "kriteria": [{"kode": "NPWP_AKTIF", "terpenuhi": False}, {"kode": "SPT_TAHUNAN_2_TAHUN", "terpenuhi": False}],
    }
    adapter, _, _ = make_adapter(answer(200, body))
    report = await adapter.execute(kswp(), STEP_ID)
    assert report.status is Status.COMPLETED
    assert report.agency_status == "TIDAK_VALID"
    assert report.outputs["status"] == "TIDAK_VALID"
    assert report.outputs["unmet_criteria"] == ["npwp_active", "annual_returns_filed"]


async def test_skf_issued_is_completed_with_number_and_validity(make_adapter: MakeAdapter) -> None:
    adapter, _, _ = make_adapter(answer(201, SKF_TERBIT))
    report = await adapter.execute(skf(), STEP_ID)
    output = SkfOutput.model_validate(report.outputs)
    assert report.status is Status.COMPLETED
    assert (report.agency_status, report.agency_ref) == ("TERBIT", "KET-00001/SKF/KPP.202/2026")
    assert (output.skf_number, output.npwp, output.tax_office_code) == ("KET-00001/SKF/KPP.202/2026", NPWP_BADAN, "202")
    assert (output.issued_on.isoformat(), output.valid_until.isoformat()) == ("2026-01-14", "2026-02-14")


# -------------------------------------------------------------------------- OAuth2


async def test_the_token_is_fetched_with_client_credentials_over_http_basic(make_adapter: MakeAdapter) -> None:
    adapter, backend, _ = make_adapter()
    await adapter.execute(activation(), STEP_ID)

    [request] = backend.token_requests
    assert (request.method, request.url.path) == ("POST", "/oauth/token")
    assert parse_qs(request.content.decode()) == {"grant_type": ["client_credentials"]}
    scheme, _, encoded = request.headers["Authorization"].partition(" ")
    assert (scheme, base64.b64decode(encoded).decode()) == ("Basic", f"mpp-hub:{SECRET}")


async def test_one_token_serves_many_calls(make_adapter: MakeAdapter) -> None:
    adapter, backend, _ = make_adapter()
    for _ in range(3):
        await adapter.execute(activation(), uuid.uuid4())
    assert len(backend.token_requests) == 1
    assert adapter.token_fetches == 1


@pytest.mark.parametrize(
    ("expires_in", "still_cached_at", "refreshed_at"),
    [(300, 269.0, 271.0), (2, 1.5, 1.7), (None, 47.0, 49.0)],
    ids=["300s-margin-30s", "2s-margin-a-fifth", "no-expires_in-assumes-60s"],
)
async def test_the_token_is_refreshed_shortly_before_it_expires(
    make_adapter: MakeAdapter, expires_in: float | None, still_cached_at: float, refreshed_at: float
) -> None:
    adapter, backend, clock = make_adapter(expires_in=expires_in)
    start = clock.t
    await adapter.execute(activation(), uuid.uuid4())
    clock.t = start + still_cached_at
    await adapter.execute(activation(), uuid.uuid4())
    assert len(backend.token_requests) == 1
    clock.t = start + refreshed_at
    await adapter.execute(activation(), uuid.uuid4())
    assert len(backend.token_requests) == 2
    assert backend.api_requests[-1].headers["Authorization"] == f"Bearer {backend.issued[1]}"


async def test_a_401_fetches_a_fresh_token_and_retries_the_call_once(make_adapter: MakeAdapter) -> None:
    adapter, backend, _ = make_adapter(answer(201, SKF_TERBIT))
    await adapter.execute(skf(), uuid.uuid4())
    backend.revoke()  # e.g. DJP rotated its keys

    report = await adapter.execute(skf(), STEP_ID)

    assert report.status is Status.COMPLETED
    stale, retried = backend.api_requests[-2:]
    assert stale.headers["Authorization"] == f"Bearer {backend.issued[0]}"
    assert retried.headers["Authorization"] == f"Bearer {backend.issued[1]}"
    assert stale.headers["X-Idempotency-Key"] == retried.headers["X-Idempotency-Key"] == str(STEP_ID)
    assert stale.content == retried.content


async def test_a_second_401_fails_the_step_as_agency_auth_failed(make_adapter: MakeAdapter) -> None:
    refuse = answer(401, galat("TOKEN_TIDAK_VALID", status="GAGAL"))
    adapter, backend, _ = make_adapter(refuse)
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(kswp(), STEP_ID)
    assert exc.value.code == "agency_auth_failed"
    assert exc.value.agency_code == "TOKEN_TIDAK_VALID"
    assert (len(backend.api_requests), len(backend.token_requests)) == (2, 2), "one refresh, one retry, no loop"


@pytest.mark.parametrize(
    ("status", "body", "agency_code"),
    [
        (401, {"error": "invalid_client", "error_description": "Client authentication failed"}, "invalid_client"),
        (400, {"error": "unauthorized_client"}, "unauthorized_client"),
        (403, b"<html>Forbidden</html>", None),
    ],
    ids=["invalid-client", "unauthorized-client", "forbidden-html"],
)
async def test_refused_client_credentials_fail_the_step_as_agency_auth_failed(
    make_adapter: MakeAdapter, status: int, body: Any, agency_code: str | None
) -> None:
    handler = answer(status, raw=body) if isinstance(body, bytes) else answer(status, body)
    adapter, backend, _ = make_adapter(token_answer=handler)
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(activation(), STEP_ID)
    assert exc.value.code == "agency_auth_failed"
    assert exc.value.agency_code == agency_code
    assert "MPP_AGENCIES__DJP__OAUTH_CLIENT_ID" in exc.value.message
    assert backend.api_requests == []


@pytest.mark.parametrize(
    "handler",
    [answer(503, galat("SISTEM_TIDAK_TERSEDIA", status="GAGAL")), answer(502, raw=b"Bad Gateway")],
    ids=["503", "502"],
)
async def test_an_unavailable_token_endpoint_is_transient(make_adapter: MakeAdapter, handler: Handler) -> None:
    adapter, _, _ = make_adapter(token_answer=handler)
    with pytest.raises(TransientBackendError):
        await adapter.execute(activation(), STEP_ID)


async def test_a_token_endpoint_timeout_is_transient(make_adapter: MakeAdapter) -> None:
    def timeout(_: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    adapter, _, _ = make_adapter(token_answer=timeout)
    with pytest.raises(TransientBackendError, match="token endpoint timed out"):
        await adapter.execute(activation(), STEP_ID)


@pytest.mark.parametrize(
    "body",
    [
        b"<html>login</html>",
        b'{"token_type": "Bearer"}',
        b'{"access_token": "x", "token_type": "mac"}',
        b'{"access_token": "x", "token_type": "Bearer", "expires_in": -5}',
    ],
    ids=["html", "no-access-token", "mac-token", "negative-lifetime"],
)
async def test_a_token_answer_that_is_not_an_rfc_6749_bearer_token_is_invalid(make_adapter: MakeAdapter, body: bytes) -> None:
    adapter, _, _ = make_adapter(token_answer=answer(200, raw=body))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(activation(), STEP_ID)
    assert exc.value.code == "agency_answer_invalid"


async def test_concurrent_commands_share_one_token_fetch(make_adapter: MakeAdapter) -> None:
    adapter, backend, _ = make_adapter(answer(200, KSWP_VALID), token_delay=0.05)
    reports = await asyncio.gather(*(adapter.execute(kswp(), uuid.uuid4()) for _ in range(20)))
    assert all(r.status is Status.COMPLETED for r in reports)
    assert len(backend.token_requests) == 1


async def test_concurrent_401s_on_the_same_stale_token_cause_one_refresh(make_adapter: MakeAdapter) -> None:
    adapter, backend, _ = make_adapter(answer(200, KSWP_VALID), token_delay=0.02)
    await adapter.execute(kswp(), uuid.uuid4())
    backend.revoke()
    reports = await asyncio.gather(*(adapter.execute(kswp(), uuid.uuid4()) for _ in range(10)))
    assert all(r.status is Status.COMPLETED for r in reports)
    assert len(backend.token_requests) == 2


async def test_neither_the_secret_nor_a_token_reaches_logs_or_errors(make_adapter: MakeAdapter, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter, backend, _ = make_adapter(answer(200, KSWP_VALID))
    await adapter.execute(kswp(), uuid.uuid4())
    backend.revoke()
    await adapter.execute(kswp(), uuid.uuid4())  # refresh after a 401
    backend.api = answer(401, galat("TOKEN_TIDAK_VALID", status="GAGAL"))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(kswp(), uuid.uuid4())

    seen = caplog.text + str(exc.value) + repr(adapter.settings) + repr(adapter._tokens._token)
    assert "DJP access token obtained" in caplog.text  # logging did happen ...
    assert SECRET not in seen  # ... without the secret
    assert base64.b64encode(f"mpp-hub:{SECRET}".encode()).decode() not in seen
    for token in backend.issued:
        assert token not in seen


# --------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("command", "status", "kode", "code"),
    [
        (activation(), 422, "NIK_TIDAK_VALID", "nik_not_matched"),
        (kswp(), 404, "NPWP_TIDAK_TERDAFTAR", "npwp_not_registered"),
        (skf(), 404, "NPWP_TIDAK_TERDAFTAR", "npwp_not_registered"),
        (skf(), 429, "KUOTA_HABIS", "agency_quota_exhausted"),
    ],
)
async def test_refusals_on_the_merits_are_rejections(
    make_adapter: MakeAdapter, command: StepCommand, status: int, kode: str, code: str
) -> None:
    adapter, _, _ = make_adapter(answer(status, galat(kode, "alasan DJP")))
    with pytest.raises(AgencyRejection) as exc:
        await adapter.execute(command, STEP_ID)
    assert (exc.value.code, exc.value.agency_code, exc.value.message) == (code, kode, "alasan DJP")


async def test_an_skf_refusal_names_every_unmet_criterion_canonically(make_adapter: MakeAdapter) -> None:
    body = galat(
        "SKF_KRITERIA_TIDAK_TERPENUHI", "Permohonan SKF tidak dapat diproses.", rincian=["SPT_TAHUNAN_2_TAHUN", "TIDAK_ADA_UTANG_PAJAK"]
    )
    adapter, _, _ = make_adapter(answer(422, body))
    with pytest.raises(AgencyRejection) as exc:
        await adapter.execute(skf(), STEP_ID)
    assert exc.value.code == "tax_clearance_criteria_unmet"
    assert exc.value.agency_code == "SKF_KRITERIA_TIDAK_TERPENUHI"
    assert exc.value.message.startswith("unmet criteria: annual_returns_filed, no_tax_debt.")
    assert "tidak dapat diproses" in exc.value.message


async def test_a_very_long_refusal_message_is_clipped(make_adapter: MakeAdapter) -> None:
    adapter, _, _ = make_adapter(answer(422, galat("NIK_TIDAK_VALID", "x" * 5000)))
    with pytest.raises(AgencyRejection) as exc:
        await adapter.execute(activation(), STEP_ID)
    assert len(exc.value.message) <= 1000


# ---------------------------------------------------------------------- transient


async def test_503_with_retry_after_is_transient_and_keeps_the_delay(make_adapter: MakeAdapter) -> None:
    adapter, _, _ = make_adapter(answer(503, galat("SISTEM_SIBUK", status="GAGAL"), headers={"Retry-After": "7"}))
    with pytest.raises(TransientBackendError) as exc:
        await adapter.execute(skf(), STEP_ID)
    assert exc.value.retry_after == 7.0


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_server_errors_are_transient_even_with_an_unreadable_body(make_adapter: MakeAdapter, status: int) -> None:
    adapter, _, _ = make_adapter(answer(status, raw=b"<html>Bad Gateway</html>"))
    with pytest.raises(TransientBackendError):
        await adapter.execute(activation(), STEP_ID)


@pytest.mark.parametrize(
    "error",
    [httpx.ReadTimeout("read timed out"), httpx.ConnectError("refused"), httpx.RemoteProtocolError("disconnected")],
    ids=lambda e: type(e).__name__,
)
async def test_api_timeouts_and_connection_errors_are_transient(make_adapter: MakeAdapter, error: Exception) -> None:
    adapter, _, _ = make_adapter(fail_with(error))
    with pytest.raises(TransientBackendError):
        await adapter.execute(kswp(), STEP_ID)


# ------------------------------------------------------ answers that make no sense


async def test_a_firewall_page_instead_of_json_is_an_invalid_answer(make_adapter: MakeAdapter) -> None:
    adapter, _, _ = make_adapter(answer(200, raw=b"<html>The requested URL was rejected.</html>", headers={"content-type": "text/html"}))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(activation(), STEP_ID)
    assert exc.value.code == "agency_answer_invalid"


@pytest.mark.parametrize(
    ("command", "body"),
    [
        (activation(), {**AKTIF, "npwp": "12345"}),
        (activation(), {k: v for k, v in AKTIF.items() if k != "kode_kpp"}),
        (activation(), {**AKTIF, "bonus": True}),
        (activation(), {**AKTIF, "npwp": "1375015203900015"}),  # another NIK was activated
        (kswp(), {**KSWP_VALID, "waktu_konfirmasi": "2026-01-14T09:30:00"}),  # no time zone
        (kswp(), {**KSWP_VALID, "kriteria": [{"kode": "KRITERIA_BARU", "terpenuhi": True}]}),
        (kswp(), {**KSWP_VALID, "kriteria": [{"kode": "NPWP_AKTIF", "terpenuhi": False}]}),  # VALID yet a criterion unmet
        (kswp(), {**KSWP_VALID, "status": "TIDAK_VALID"}),  # TIDAK_VALID with every criterion met
        (skf(), {**SKF_TERBIT, "berlaku_sampai": "2026-01-01"}),  # expires before issue
        (skf(), [SKF_TERBIT]),
        (skf(), galat("NIK_TIDAK_VALID")),  # an error body with a 2xx
    ],
    ids=[
        "bad-npwp",
        "missing-field",
        "extra-field",
        "other-nik",
        "naive-datetime",
        "unknown-criterion",
        "valid-with-unmet",
        "tidak-valid-all-met",
        "expired-skf",
        "list",
        "error-body",
    ],
)
async def test_a_schema_invalid_success_answer_is_invalid(make_adapter: MakeAdapter, command: StepCommand, body: Any) -> None:
    adapter, _, _ = make_adapter(answer(200, body))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(command, STEP_ID)
    assert exc.value.code == "agency_answer_invalid"


@pytest.mark.parametrize(
    ("command", "body"),
    [
        (activation(), {**AKTIF, "status": "MENUNGGU_VERIFIKASI"}),
        (kswp(), {**KSWP_VALID, "status": "DALAM_PROSES"}),
        (skf(), {**SKF_TERBIT, "status": "DALAM_PENELITIAN"}),
    ],
    ids=["activation", "kswp", "skf"],
)
async def test_an_unknown_native_status_fails_with_its_own_reason(make_adapter: MakeAdapter, command: StepCommand, body: Any) -> None:
    adapter, _, _ = make_adapter(answer(200, body))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(command, STEP_ID)
    assert exc.value.code == "agency_status_unknown"
    assert exc.value.agency_code == body["status"]
    assert body["status"] in exc.value.message


@pytest.mark.parametrize(
    ("status", "body"),
    [(418, {"error": "teapot"}), (400, galat("KODE_BARU", status="GAGAL")), (404, None)],
    ids=["foreign-shape", "unknown-code", "empty"],
)
async def test_an_unknown_error_body_is_an_invalid_answer(make_adapter: MakeAdapter, status: int, body: Any) -> None:
    adapter, _, _ = make_adapter(answer(status, raw=b"") if body is None else answer(status, body))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(skf(), STEP_ID)
    assert exc.value.code == "agency_answer_invalid"
    assert str(status) in exc.value.message


@pytest.mark.parametrize("kode", ["KUNCI_SUDAH_DIPAKAI", "DATA_TIDAK_VALID", "TIDAK_DITEMUKAN"])
async def test_known_errors_that_are_not_refusals_on_the_merits_fail_with_djps_code(make_adapter: MakeAdapter, kode: str) -> None:
    """A reused key or a request DJP cannot read is the hub's problem, not the citizen's."""
    adapter, _, _ = make_adapter(answer(409, galat(kode, "pesan DJP", status="GAGAL")))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(skf(), STEP_ID)
    assert (exc.value.code, exc.value.agency_code, exc.value.message) == ("agency_refused_request", kode, "pesan DJP")


# ------------------------------------------------------------ against the simulator


class Jam:
    """One hand-moved clock for both sides: the simulator (datetime) and the adapter (monotonic)."""

    def __init__(self) -> None:
        self.at = datetime(2026, 1, 14, 9, 30, tzinfo=WIB)
        self.start = self.at

    def __call__(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return (self.at - self.start).total_seconds()

    def maju(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


Simulated = tuple[DjpAdapter, httpx.AsyncClient, Jam]


@pytest.fixture
async def simulated() -> AsyncIterator[Callable[..., Awaitable[Simulated]]]:
    opened: list[tuple[DjpAdapter, httpx.AsyncClient, Any]] = []

    async def make(config: KonfigurasiSimulator | None = None, secret: str = SECRET) -> Simulated:
        jam = Jam()
        app = create_app(config, clock=jam)
        transport = httpx.ASGITransport(app=app)
        adapter = DjpAdapter(settings(oauth_client_secret=secret), transport=transport, clock=jam.monotonic)
        control = httpx.AsyncClient(transport=transport, base_url="http://djp.test")
        opened.append((adapter, control, app))
        return adapter, control, jam

    yield make
    for adapter, control, app in opened:
        await adapter.aclose()
        await control.aclose()
        app.state.simulator.runtime.ledger.close()


async def outcome(adapter: DjpAdapter, command: StepCommand, step_id: uuid.UUID) -> tuple[Status, str | None]:
    """What the worker would publish: the report's status, or REJECTED/FAILED with the code."""
    try:
        return (await adapter.execute(command, step_id)).status, None
    except AgencyRejection as exc:
        return Status.REJECTED, exc.code
    except AgencyAnswerInvalid as exc:
        return Status.FAILED, exc.code


async def test_every_contract_sample_reaches_its_expected_outcome_against_the_simulator(
    simulated: Callable[..., Awaitable[Simulated]],
) -> None:
    declared = contract()
    config = KonfigurasiSimulator.dari_rahasia(":memory:", declared.simulator_options.secrets)
    adapter, _, _ = await simulated(config)
    assert isinstance(declared.backend_settings("http://djp.test", "http://hub.test"), DjpSettings)
    operations = {sample.command.operation for sample in declared.samples}
    assert operations == DjpAdapter.operations, "one sample per operation at least"
    assert any(sample.expect is Status.REJECTED for sample in declared.samples)
    for sample in declared.samples:
        assert await outcome(adapter, sample.command, uuid.uuid4()) == (sample.expect, sample.expect_error_code), sample.name


async def test_an_expired_simulator_token_is_replaced_before_the_call(simulated: Callable[..., Awaitable[Simulated]]) -> None:
    adapter, control, jam = await simulated()
    await control.put("/_sim/knobs", json={"token_ttl_seconds": 2})
    assert (await adapter.execute(kswp(), uuid.uuid4())).status is Status.COMPLETED
    jam.maju(5)
    assert (await adapter.execute(kswp(), uuid.uuid4())).status is Status.COMPLETED
    tokens = (await control.get("/_sim/tokens")).json()
    assert (tokens["issued"], tokens["refused"]) == (2, 0), "refreshed proactively, no 401 needed"


async def test_revoked_simulator_tokens_are_recovered_from_with_one_refresh(simulated: Callable[..., Awaitable[Simulated]]) -> None:
    adapter, control, _ = await simulated()
    await adapter.execute(kswp(), uuid.uuid4())
    await control.put("/_sim/knobs", json={"revoke_tokens": True})
    assert (await adapter.execute(activation(), STEP_ID)).status is Status.COMPLETED
    tokens = (await control.get("/_sim/tokens")).json()
    assert (tokens["issued"], tokens["refused"], tokens["revoked"]) == (2, 1, 1)


async def test_a_wrong_client_secret_fails_as_agency_auth_failed(simulated: Callable[..., Awaitable[Simulated]]) -> None:
    adapter, _, _ = await simulated(secret="rahasia-lama")
    assert await outcome(adapter, kswp(), STEP_ID) == (Status.FAILED, "agency_auth_failed")


async def test_a_lost_reply_is_retried_with_the_same_key_and_applied_once(simulated: Callable[..., Awaitable[Simulated]]) -> None:
    adapter, control, _ = await simulated()
    await control.put("/_sim/knobs", json={"drop_reply_after_apply": 1.0})
    with pytest.raises(TransientBackendError):
        await adapter.execute(skf(), STEP_ID)
    retried = await adapter.execute(skf(), STEP_ID)  # what the worker does next
    book = (await control.get("/_sim/ledger")).json()
    assert retried.status is Status.COMPLETED
    assert (book["applied"], book["replayed"]) == (1, 1)
    assert book["entries"][0]["key"] == str(STEP_ID)


@pytest.mark.parametrize(
    ("knobs", "expected"),
    [
        ({"garble_rate": 1.0}, (Status.FAILED, "agency_answer_invalid")),
        ({"status_override": "DALAM_PENELITIAN"}, (Status.FAILED, "agency_status_unknown")),
    ],
    ids=["garbled", "unknown-status"],
)
async def test_simulator_misbehaviour_ends_failed_with_the_reason(
    simulated: Callable[..., Awaitable[Simulated]], knobs: dict[str, Any], expected: tuple[Status, str]
) -> None:
    adapter, control, _ = await simulated()
    await control.put("/_sim/knobs", json=knobs)
    assert await outcome(adapter, activation(), STEP_ID) == expected


@pytest.mark.parametrize("knobs", [{"down": True}, {"error_rate": 1.0}], ids=["down", "busy"])
async def test_an_unavailable_simulator_is_transient(simulated: Callable[..., Awaitable[Simulated]], knobs: dict[str, Any]) -> None:
    adapter, control, _ = await simulated()
    await control.put("/_sim/knobs", json=knobs)
    with pytest.raises(TransientBackendError):
        await adapter.execute(skf(), STEP_ID)
