"""Specification of the DJP backend simulator (adapters/djp/simulator.py).

The DJP adapter is tested against this simulator, so these tests pin down what the
adapter may rely on: the OAuth2 client-credentials endpoint and token lifetimes, the
native API with its Indonesian field names and error shape, the business rules
(Dukcapil match, KSWP, SKF criteria), apply-at-most-once per X-Idempotency-Key, and
every fault knob.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.djp import plugin as djp_plugin
from adapters.djp.native import HasilAktivasi, HasilKswp, HasilSkf
from adapters.djp.simulator import WIB, KonfigurasiSimulator, create_app
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.testing.client import assert_replayed, in_process, put_knobs, read_ledger

TOKEN = "/oauth/token"
AKTIVASI = "/api/v1/wajib-pajak/aktivasi"
SKF = "/api/v1/skf"
NIK = "1375015203900007"  # Guguk Panjang, Bukittinggi; compliant
WARGA = {"nik": NIK, "nama": "Siti Rahmah", "email": "siti@example.id", "nomor_hp": "081234567890"}
NPWP_BADAN = "0012345674202000"  # 0 + 01.234.567.4-202.000, compliant entity
HARI_INI = datetime(2026, 1, 14, 9, 30, tzinfo=WIB)  # a Wednesday at MPP Bukittinggi


class Jam:
    """A clock tests move by hand: tokens expire and days change without sleeping."""

    def __init__(self, at: datetime = HARI_INI) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def maju(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@asynccontextmanager
async def djp(config: KonfigurasiSimulator | None = None, jam: Jam | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A client wired straight into a fresh simulator app (no network)."""
    async with in_process(create_app(config, clock=jam or Jam()), "http://djp.test") as client:
        yield client


@asynccontextmanager
async def tuned(jam: Jam | None = None, **knobs: Any) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A fresh simulator with a token issued, then ``knobs`` set."""
    async with djp(jam=jam) as client:
        token = await minta_token(client)
        await set_knobs(client, **knobs)
        yield client, token


def basic(client_id: str = "mpp-hub", secret: str = "dev-djp-client-secret") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def minta_token(client: httpx.AsyncClient) -> str:
    r = await client.post(TOKEN, data={"grant_type": "client_credentials"}, headers=basic())
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def bearer(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["X-Idempotency-Key"] = key
    return headers


async def aktivasi(client: httpx.AsyncClient, token: str, body: dict[str, Any] | None = None, key: str | None = "step-1") -> httpx.Response:
    return await client.post(AKTIVASI, json=body or WARGA, headers=bearer(token, key))


async def kswp(client: httpx.AsyncClient, token: str, npwp: str = NIK, keperluan: str | None = "Izin usaha") -> httpx.Response:
    params = {} if keperluan is None else {"keperluan": keperluan}
    return await client.get(f"/api/v1/kswp/{npwp}", params=params, headers=bearer(token))


async def skf(client: httpx.AsyncClient, token: str, npwp: str = NPWP_BADAN, key: str = "step-1") -> httpx.Response:
    return await client.post(SKF, json={"npwp": npwp, "keperluan": "Tender pengadaan"}, headers=bearer(token, key))


ledger = read_ledger


async def set_knobs(client: httpx.AsyncClient, **knobs: Any) -> dict[str, Any]:
    r = await put_knobs(client, **knobs)
    assert r.status_code == 200, r.text
    return dict(r.json())


def galat(r: httpx.Response) -> tuple[int, str, str]:
    body = r.json()
    assert set(body) <= {"status", "kode", "pesan", "rincian"}, body
    return r.status_code, body["status"], body["kode"]


# ------------------------------------------------------------------------- OAuth2


async def test_client_credentials_with_http_basic_issue_a_bearer_token() -> None:
    async with djp() as client:
        r = await client.post(TOKEN, data={"grant_type": "client_credentials"}, headers=basic())
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert len(body["access_token"]) >= 32
    assert r.headers["Cache-Control"] == "no-store"  # RFC 6749 section 5.1


async def test_client_credentials_in_form_fields_are_accepted_too() -> None:
    async with djp() as client:
        r = await client.post(
            TOKEN, data={"grant_type": "client_credentials", "client_id": "mpp-hub", "client_secret": "dev-djp-client-secret"}
        )
    assert r.status_code == 200
    assert r.json()["token_type"] == "Bearer"


async def test_basic_credentials_are_form_urldecoded_as_rfc_6749_asks() -> None:
    config = KonfigurasiSimulator(client_id="mpp hub", client_secret="rahasia:+/=")
    encoded = base64.b64encode(b"mpp+hub:rahasia%3A%2B%2F%3D").decode()
    async with djp(config) as client:
        r = await client.post(TOKEN, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {encoded}"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("headers", "data"),
    [
        (basic(secret="salah"), {"grant_type": "client_credentials"}),
        (basic(client_id="orang-lain"), {"grant_type": "client_credentials"}),
        ({}, {"grant_type": "client_credentials", "client_id": "mpp-hub", "client_secret": "salah"}),
        ({}, {"grant_type": "client_credentials"}),
        ({"Authorization": "Basic bukan-base64!"}, {"grant_type": "client_credentials"}),
    ],
    ids=["wrong-secret", "unknown-client", "wrong-form-secret", "no-credentials", "malformed-basic"],
)
async def test_a_client_that_fails_authentication_gets_401_invalid_client(headers: dict[str, str], data: dict[str, str]) -> None:
    async with djp() as client:
        r = await client.post(TOKEN, data=data, headers=headers)
        tokens = (await client.get("/_sim/tokens")).json()
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert tokens["issued"] == 0


async def test_failed_basic_authentication_names_the_scheme() -> None:
    async with djp() as client:
        r = await client.post(TOKEN, data={"grant_type": "client_credentials"}, headers=basic(secret="salah"))
    assert r.headers["WWW-Authenticate"] == 'Basic realm="DJP"'


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
        ({"grant_type": "client_credentials", "client_id": "mpp-hub"}, "invalid_request"),  # Basic and form at once
    ],
    ids=["password-grant", "no-grant-type", "two-auth-methods"],
)
async def test_bad_token_requests_get_400_with_the_rfc_error(data: dict[str, str], error: str) -> None:
    async with djp() as client:
        r = await client.post(TOKEN, data=data, headers=basic())
    assert (r.status_code, r.json()["error"]) == (400, error)


async def test_token_request_must_be_form_encoded() -> None:
    async with djp() as client:
        r = await client.post(TOKEN, json={"grant_type": "client_credentials"}, headers=basic())
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")


async def test_the_client_secret_comes_from_the_simulator_options() -> None:
    async with in_process(djp_plugin.simulator(SimulatorOptions(secrets={"client_secret": "rahasia-produksi"}))) as client:
        default = await client.post(TOKEN, data={"grant_type": "client_credentials"}, headers=basic())
        configured = await client.post(TOKEN, data={"grant_type": "client_credentials"}, headers=basic(secret="rahasia-produksi"))
    assert default.status_code == 401
    assert configured.status_code == 200


def test_a_misspelt_secret_name_is_refused_not_ignored() -> None:
    with pytest.raises(ValueError, match="client-secret"):
        djp_plugin.simulator(SimulatorOptions(secrets={"client-secret": "x"}))


async def test_api_call_without_a_token_gets_401_bearer_challenge() -> None:
    async with djp() as client:
        r = await client.post(AKTIVASI, json=WARGA, headers={"X-Idempotency-Key": "k"})
    assert galat(r) == (401, "GAGAL", "TOKEN_WAJIB")
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="DJP"'


@pytest.mark.parametrize("authorization", ["Bearer tidak-pernah-diterbitkan", "Basic abc", "Bearer "])
async def test_api_call_with_an_unknown_token_gets_401_invalid_token(authorization: str) -> None:
    async with djp() as client:
        r = await client.get(f"/api/v1/kswp/{NIK}", params={"keperluan": "x"}, headers={"Authorization": authorization})
    assert galat(r) == (401, "GAGAL", "TOKEN_TIDAK_VALID")
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


async def test_a_token_expires_after_token_ttl_seconds() -> None:
    jam = Jam()
    async with djp(jam=jam) as client:
        await set_knobs(client, token_ttl_seconds=2)
        token = await minta_token(client)
        jam.maju(seconds=1.9)
        still_good = await kswp(client, token)
        jam.maju(seconds=0.1)
        expired = await kswp(client, token)
        fresh = await kswp(client, await minta_token(client))
        tokens = (await client.get("/_sim/tokens")).json()
    assert still_good.status_code == 200
    assert galat(expired) == (401, "GAGAL", "TOKEN_TIDAK_VALID")
    assert 'error_description="The access token expired"' in expired.headers["WWW-Authenticate"]
    assert fresh.status_code == 200
    assert tokens == {"issued": 2, "active": 1, "refused": 1, "revoked": 0}


async def test_token_ttl_applies_to_tokens_issued_afterwards() -> None:
    jam = Jam()
    async with djp(jam=jam) as client:
        long_lived = await minta_token(client)
        await set_knobs(client, token_ttl_seconds=1)
        r = await client.post(TOKEN, data={"grant_type": "client_credentials"}, headers=basic())
        jam.maju(seconds=5)
        assert (await kswp(client, long_lived)).status_code == 200
        assert (await kswp(client, r.json()["access_token"])).status_code == 401
    assert r.json()["expires_in"] == 1


async def test_revoke_tokens_invalidates_every_issued_token_once_and_resets() -> None:
    async with djp() as client:
        first, second = await minta_token(client), await minta_token(client)
        knobs = await set_knobs(client, revoke_tokens=True)
        after = (await client.get("/_sim/knobs")).json()
        refused = [await kswp(client, t) for t in (first, second)]
        new = await minta_token(client)
        accepted = await kswp(client, new)
        tokens = (await client.get("/_sim/tokens")).json()
    assert knobs["revoke_tokens"] is True  # the trigger was received ...
    assert after["revoke_tokens"] is False  # ... carried out, and reset
    assert [galat(r)[2] for r in refused] == ["TOKEN_TIDAK_VALID"] * 2
    assert accepted.status_code == 200, "tokens issued after the revocation work"
    assert tokens == {"issued": 3, "active": 1, "refused": 2, "revoked": 2}


async def test_token_counts_never_reveal_a_token() -> None:
    async with djp() as client:
        token = await minta_token(client)
        body = (await client.get("/_sim/tokens")).text + (await client.get("/_sim/knobs")).text
    assert token not in body


# ---------------------------------------------------------------- NPWP activation


async def test_activation_of_a_matched_nik_makes_it_the_npwp_at_kpp_bukittinggi() -> None:
    async with djp(jam=Jam(datetime(2026, 1, 13, 18, 0, tzinfo=WIB) - timedelta(hours=1))) as client:
        r = await aktivasi(client, await minta_token(client))
    assert r.status_code == 200
    hasil = HasilAktivasi.model_validate(r.json())
    assert hasil.status == "AKTIF"
    assert hasil.npwp == NIK, "NIK = NPWP for resident individuals (PMK 112/2022)"
    assert (hasil.kode_kpp, hasil.nama_kpp) == ("202", "KPP Pratama Bukittinggi")
    assert hasil.tanggal_aktivasi == date(2026, 1, 13)
    assert hasil.aktivasi_baru is True
    assert hasil.nomor_tanda_terima == "BPS-202-20260113-000001"


async def test_activation_dates_are_local_wib_days() -> None:
    utc_evening = datetime(2026, 1, 13, 18, 30, tzinfo=WIB.utc)  # 01:30 WIB on the 14th
    async with djp(jam=Jam(utc_evening)) as client:
        r = await aktivasi(client, await minta_token(client))
    assert r.json()["tanggal_aktivasi"] == "2026-01-14"


@pytest.mark.parametrize(("nik", "kpp"), [("1376015203900007", "204"), ("1371015203900007", "201"), ("3171015203900007", "202")])
async def test_individuals_are_registered_at_the_kpp_of_their_regency(nik: str, kpp: str) -> None:
    async with djp() as client:
        r = await aktivasi(client, await minta_token(client), {**WARGA, "nik": nik})
    assert r.json()["kode_kpp"] == kpp


@pytest.mark.parametrize(
    "nik",
    ["1375010101900100", "1375010113900007", "1375013201900007", "0175015203900007", "1375015203900000"],
    ids=["serial-ends-00", "month-13", "day-32", "province-01", "serial-0000"],
)
async def test_a_nik_unknown_to_dukcapil_is_refused_and_nothing_is_recorded(nik: str) -> None:
    async with djp() as client:
        r = await aktivasi(client, await minta_token(client), {**WARGA, "nik": nik})
        applied = (await ledger(client))["applied"]
    assert galat(r) == (422, "DITOLAK", "NIK_TIDAK_VALID")
    assert "Dukcapil" in r.json()["pesan"]
    assert applied == 0


async def test_activating_an_already_active_nik_keeps_the_original_date_and_receipt() -> None:
    jam = Jam()
    async with djp(jam=jam) as client:
        token = await minta_token(client)
        first = (await aktivasi(client, token, key="langkah-1")).json()
        jam.maju(days=3)
        again = await aktivasi(client, await minta_token(client), {**WARGA, "email": "baru@example.id"}, key="langkah-2")
        applied = (await ledger(client))["applied"]
    assert again.status_code == 200
    assert again.json()["aktivasi_baru"] is False
    assert again.json()["tanggal_aktivasi"] == first["tanggal_aktivasi"] == "2026-01-14"
    assert again.json()["nomor_tanda_terima"] == first["nomor_tanda_terima"]
    assert applied == 2, "a new key is a new application, even if the answer is 'already active'"


async def test_the_same_key_and_body_replays_the_stored_answer() -> None:
    jam = Jam()
    async with djp(jam=jam) as client:
        token = await minta_token(client)
        first = await aktivasi(client, token)
        jam.maju(days=1)
        reordered = dict(reversed(list(WARGA.items())))  # key order does not make a different body
        second = await aktivasi(client, await minta_token(client), reordered)
        book = await ledger(client)
    assert first.status_code == 200
    assert_replayed(first, second, book, header="X-Idempotent-Replayed", key="step-1")
    assert book["entries"][0]["operation"] == "AKTIVASI_NPWP"


async def test_the_same_key_with_another_body_is_a_conflict() -> None:
    async with djp() as client:
        token = await minta_token(client)
        await aktivasi(client, token)
        r = await aktivasi(client, token, {**WARGA, "nik": "1375015203900015"})
        applied = (await ledger(client))["applied"]
    assert galat(r) == (409, "GAGAL", "KUNCI_SUDAH_DIPAKAI")
    assert applied == 1


async def test_the_ledger_never_shows_a_nik() -> None:
    async with djp() as client:
        await aktivasi(client, await minta_token(client))
        text = (await client.get("/_sim/ledger")).text
    assert NIK not in text
    assert json.loads(text)["entries"][0]["subject"].startswith("wp:")


@pytest.mark.parametrize("key", [None, "   ", "x" * 201, "tab\there"], ids=["missing", "blank", "too-long", "unprintable"])
async def test_writes_need_a_usable_idempotency_key(key: str | None) -> None:
    async with djp() as client:
        r = await aktivasi(client, await minta_token(client), key=key)
    assert galat(r) == (400, "GAGAL", "IDEMPOTENCY_KEY_WAJIB")


@pytest.mark.parametrize(
    "body",
    [
        {**WARGA, "nomor_hp": "+6281234567890"},  # DJP wants the national form
        {**WARGA, "email": "bukan-email"},
        {**WARGA, "npwp": NIK},  # unknown field
        {k: v for k, v in WARGA.items() if k != "nama"},
    ],
    ids=["e164-phone", "bad-email", "unknown-field", "missing-name"],
)
async def test_malformed_activation_is_400_with_field_details(body: dict[str, Any]) -> None:
    async with djp() as client:
        r = await aktivasi(client, await minta_token(client), body)
    assert galat(r) == (400, "GAGAL", "DATA_TIDAK_VALID")
    assert r.json()["rincian"]


# ---------------------------------------------------------------------------- KSWP


async def test_kswp_of_a_compliant_taxpayer_is_valid_with_the_criteria_checked() -> None:
    async with djp() as client:
        r = await kswp(client, await minta_token(client), keperluan="Sertifikasi halal (BPJPH)")
    assert r.status_code == 200
    hasil = HasilKswp.model_validate(r.json())
    assert hasil.status == "VALID"
    assert hasil.keperluan == "Sertifikasi halal (BPJPH)"
    assert [(k.kode, k.terpenuhi) for k in hasil.kriteria] == [("NPWP_AKTIF", True), ("SPT_TAHUNAN_2_TAHUN", True)]
    assert hasil.waktu_konfirmasi == HARI_INI


@pytest.mark.parametrize(
    ("npwp", "status", "unmet"),
    [
        ("1375015203900091", "TIDAK_VALID", ["SPT_TAHUNAN_2_TAHUN"]),
        ("1375015203900095", "TIDAK_VALID", ["SPT_TAHUNAN_2_TAHUN"]),
        ("1375015203900096", "TIDAK_VALID", ["NPWP_AKTIF"]),
        ("1375015203900092", "VALID", []),  # VAT returns are not a KSWP criterion
        ("1375015203900093", "VALID", []),  # nor is tax debt
        ("1375015203900094", "VALID", []),  # nor an investigation
    ],
)
async def test_kswp_is_tidak_valid_only_for_an_inactive_npwp_or_missing_annual_returns(npwp: str, status: str, unmet: list[str]) -> None:
    async with djp() as client:
        r = await kswp(client, await minta_token(client), npwp)
    assert r.status_code == 200
    assert r.json()["status"] == status
    assert [k["kode"] for k in r.json()["kriteria"] if not k["terpenuhi"]] == unmet


@pytest.mark.parametrize(
    ("npwp", "today", "years"),
    [
        (NIK, date(2026, 1, 14), [2023, 2024]),  # 2025's return is due by 31 Mar 2026
        (NIK, date(2026, 4, 1), [2024, 2025]),
        (NPWP_BADAN, date(2026, 4, 15), [2023, 2024]),  # entities have until 30 April
        (NPWP_BADAN, date(2026, 5, 1), [2024, 2025]),
    ],
)
async def test_kswp_checks_the_last_two_tax_years_already_due(npwp: str, today: date, years: list[int]) -> None:
    async with djp(jam=Jam(datetime.combine(today, datetime.min.time(), tzinfo=WIB))) as client:
        r = await kswp(client, await minta_token(client), npwp)
    assert r.json()["tahun_pajak_diperiksa"] == years


@pytest.mark.parametrize(("ask", "npwp"), [(kswp, "0012345005202000"), (skf, "1375015203900100")], ids=["kswp", "skf"])
async def test_an_unknown_npwp_is_refused(ask: Callable[..., Awaitable[httpx.Response]], npwp: str) -> None:
    async with djp() as client:
        r = await ask(client, await minta_token(client), npwp)
    assert galat(r) == (404, "DITOLAK", "NPWP_TIDAK_TERDAFTAR")


async def test_kswp_is_a_read_safe_to_repeat_and_never_recorded() -> None:
    async with djp() as client:
        token = await minta_token(client)
        answers = [(await kswp(client, token)).json() for _ in range(3)]
        book = await ledger(client)
    assert answers[0] == answers[1] == answers[2]
    assert (book["applied"], book["replayed"]) == (0, 0)


@pytest.mark.parametrize(("npwp", "keperluan"), [("12345", "x"), (NIK, None), (NIK, "x" * 201)])
async def test_kswp_needs_a_16_digit_npwp_and_a_purpose(npwp: str, keperluan: str | None) -> None:
    async with djp() as client:
        r = await kswp(client, await minta_token(client), npwp, keperluan)
    assert galat(r) == (400, "GAGAL", "DATA_TIDAK_VALID")


# ----------------------------------------------------------------------------- SKF


async def test_skf_is_issued_at_once_to_a_compliant_taxpayer_and_valid_one_month() -> None:
    async with djp() as client:
        r = await skf(client, await minta_token(client))
    assert r.status_code == 201
    hasil = HasilSkf.model_validate(r.json())
    assert hasil.status == "TERBIT"
    assert hasil.nomor_skf == "KET-00001/SKF/KPP.202/2026"
    assert hasil.kode_kpp == "202", "an entity keeps the KPP code (DDD) of its NPWP"
    assert (hasil.tanggal_terbit, hasil.berlaku_sampai) == (date(2026, 1, 14), date(2026, 2, 14))
    assert hasil.tahun_pajak_diperiksa == [2023, 2024]
    assert hasil.masa_ppn_diperiksa == ["2025-09", "2025-10", "2025-11"]  # December's is due end of January


@pytest.mark.parametrize(
    ("issued", "until"),
    [(date(2026, 1, 31), date(2026, 2, 28)), (date(2028, 1, 31), date(2028, 2, 29)), (date(2026, 12, 15), date(2027, 1, 15))],
)
async def test_skf_validity_is_clamped_to_the_end_of_a_shorter_month(issued: date, until: date) -> None:
    async with djp(jam=Jam(datetime.combine(issued, datetime.min.time(), tzinfo=WIB))) as client:
        r = await skf(client, await minta_token(client))
    assert r.json()["berlaku_sampai"] == until.isoformat()


@pytest.mark.parametrize(
    ("serial", "unmet"),
    [
        ("91", ["SPT_TAHUNAN_2_TAHUN"]),
        ("92", ["SPT_MASA_PPN_3_MASA"]),
        ("93", ["TIDAK_ADA_UTANG_PAJAK"]),
        ("94", ["TIDAK_DALAM_PENYIDIKAN"]),
        ("95", ["SPT_TAHUNAN_2_TAHUN", "TIDAK_ADA_UTANG_PAJAK"]),
    ],
)
async def test_skf_is_refused_with_every_unmet_criterion(serial: str, unmet: list[str]) -> None:
    async with djp() as client:
        r = await skf(client, await minta_token(client), f"13750152039000{serial}")
        applied = (await ledger(client))["applied"]
    assert galat(r) == (422, "DITOLAK", "SKF_KRITERIA_TIDAK_TERPENUHI")
    assert r.json()["rincian"] == unmet
    assert applied == 0


async def test_skf_is_issued_once_per_key() -> None:
    async with djp() as client:
        token = await minta_token(client)
        first, second = await skf(client, token), await skf(client, token)
        conflict = await skf(client, token, NIK)
        book = await ledger(client)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json()
    assert second.headers["X-Idempotent-Replayed"] == "true"
    assert galat(conflict) == (409, "GAGAL", "KUNCI_SUDAH_DIPAKAI")
    assert (book["applied"], book["replayed"]) == (1, 1)


# --------------------------------------------------------------------------- knobs


async def test_down_fails_token_and_api_calls_with_503_and_applies_nothing() -> None:
    async with tuned(down=True) as (client, token):
        token_call = await client.post(TOKEN, data={"grant_type": "client_credentials"}, headers=basic())
        api_call = await aktivasi(client, token)
        health = await client.get("/_sim/health")
        applied = (await ledger(client))["applied"]
    assert galat(token_call) == (503, "GAGAL", "SISTEM_TIDAK_TERSEDIA")
    assert galat(api_call) == (503, "GAGAL", "SISTEM_TIDAK_TERSEDIA")
    assert health.status_code == 200, "the control plane ignores the down knob"
    assert applied == 0


async def test_error_rate_refuses_as_busy_with_retry_after_before_applying() -> None:
    async with tuned(error_rate=1.0) as (client, token):
        r = await skf(client, token)
        applied = (await ledger(client))["applied"]
    assert galat(r) == (503, "GAGAL", "SISTEM_SIBUK")
    assert r.headers["Retry-After"] == "1"
    assert applied == 0


async def test_latency_delays_native_calls() -> None:
    async with tuned(latency_ms=150) as (client, token):
        started = time.monotonic()
        r = await kswp(client, token)
    assert r.status_code == 200
    assert time.monotonic() - started >= 0.15


async def test_drop_reply_after_apply_applies_then_times_out_and_a_retry_gets_the_stored_answer() -> None:
    async with tuned(drop_reply_after_apply=1.0) as (client, token):
        lost = await skf(client, token)
        retried = await skf(client, token)
        book = await ledger(client)
    assert galat(lost) == (504, "GAGAL", "WAKTU_HABIS")
    assert book["applied"] == 1, "the work was done before the reply was lost"
    assert retried.status_code == 201
    assert retried.json()["nomor_skf"] == "KET-00001/SKF/KPP.202/2026"


async def test_garble_rate_applies_then_answers_with_a_firewall_page() -> None:
    async with tuned(garble_rate=1.0) as (client, token):
        garbled = await aktivasi(client, token)
        garbled_read = await kswp(client, token)
        retried = await aktivasi(client, token)
        applied = (await ledger(client))["applied"]
    assert garbled.status_code == 200
    assert garbled.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        json.loads(garbled.text)
    assert garbled_read.headers["content-type"].startswith("text/html"), "a read is garbled on every answer"
    assert applied == 1
    assert retried.json()["status"] == "AKTIF", "the stored answer is intact"


async def test_daily_quota_refuses_further_applications_until_the_next_wib_day() -> None:
    jam = Jam(datetime(2026, 1, 14, 23, 0, tzinfo=WIB))
    async with tuned(jam=jam, daily_quota=1) as (client, token):
        first = await skf(client, token, key="a")
        over = await skf(client, token, key="b")
        replay = await skf(client, token, key="a")
        read = await kswp(client, token)
        jam.maju(hours=1)
        next_day = await skf(client, await minta_token(client), key="b")
    assert first.status_code == 201
    assert galat(over) == (429, "DITOLAK", "KUOTA_HABIS")
    assert over.headers["Retry-After"] == "3600"
    assert replay.status_code == 201, "replays are not new applications"
    assert read.status_code == 200, "reads do not count against the quota"
    assert next_day.status_code == 201


async def test_status_override_replaces_the_status_of_every_success_answer_only() -> None:
    async with tuned(status_override="DALAM_PENELITIAN") as (client, token):
        answers = [await aktivasi(client, token, key="a"), await kswp(client, token), await skf(client, token, key="b")]
        refused = await skf(client, token, "1375015203900091", key="other")
    assert [r.json()["status"] for r in answers] == ["DALAM_PENELITIAN"] * 3
    assert galat(refused) == (422, "DITOLAK", "SKF_KRITERIA_TIDAK_TERPENUHI")


async def test_unknown_knobs_are_refused() -> None:
    async with djp() as client:
        r = await client.put("/_sim/knobs", json={"token_ttl": 5})
    assert r.status_code == 422


# ---------------------------------------------------------------- protocol shapes


async def test_unknown_paths_and_methods_answer_in_djp_error_shape() -> None:
    async with djp() as client:
        missing = await client.get("/api/v1/tidak-ada")
        wrong_method = await client.get(SKF)
    assert galat(missing) == (404, "GAGAL", "TIDAK_DITEMUKAN")
    assert galat(wrong_method) == (405, "GAGAL", "METODE_TIDAK_DIIZINKAN")
