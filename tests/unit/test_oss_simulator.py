"""Specification of the OSS-RBA simulator (adapters/oss/simulator.py).

OSS answers a NIB registration at once, behind a ``user_key`` header and a Bearer
token obtained with the counter's account. These tests pin down what the OSS adapter
may rely on: the token exchange and its refusals, the JSON envelope, the risk level
and licensing status per KBLI, the KBLI and scale refusals, apply-once per
``nomor_referensi``, token expiry, and the knobs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.oss import DEV_CREDENTIALS, plugin
from adapters.oss.native import BalasanGalat, DataNib
from adapters.oss.simulator import OssKnobs, create_app
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.testing.client import Driver, in_process
from adapters.sdk.testing.clock import WIB
from support.samples import oss_permohonan as permohonan

PATH_NIB = "/oss/api/v1/nib/umk"
PATH_TOKEN = "/oss/api/v1/auth/token"
USER_KEY = {"user_key": DEV_CREDENTIALS["user_key"]}
ACCOUNT = {"username": DEV_CREDENTIALS["username"], "password": DEV_CREDENTIALS["password"]}
NOW = datetime(2026, 1, 14, 9, 30, tzinfo=WIB)


def galat(response: httpx.Response) -> tuple[int, str]:
    body = BalasanGalat.model_validate(response.json())
    assert body.status == response.status_code, "the envelope's status repeats the HTTP status"
    return response.status_code, body.kode.value


class Oss(Driver):
    async def token(self, account: dict[str, str] = ACCOUNT, headers: dict[str, str] = USER_KEY) -> httpx.Response:
        return await self.client.post(PATH_TOKEN, json=account, headers=headers)

    async def bearer(self) -> dict[str, str]:
        response = await self.token()
        assert response.status_code == 200, response.text
        return {**USER_KEY, "Authorization": f"Bearer {response.json()['data']['access_token']}"}

    async def daftar(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.post(PATH_NIB, json=body, headers=headers if headers is not None else await self.bearer())


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def oss(clock: Clock) -> AsyncIterator[Oss]:
    async with in_process(create_app(clock=clock)) as client:
        yield Oss(client)


# --- tokens ----------------------------------------------------------------------------


async def test_a_token_is_issued_for_the_user_key_and_the_counter_account(oss: Oss) -> None:
    response = await oss.token()

    assert response.status_code == 200
    envelope = response.json()
    assert (envelope["status"], envelope["message"]) == (200, "Sukses")
    assert envelope["data"]["token_type"] == "Bearer" and envelope["data"]["expires_in"] == 300
    assert response.headers["Cache-Control"] == "no-store"


async def test_the_token_endpoint_refuses_a_wrong_user_key_or_account(oss: Oss) -> None:
    assert galat(await oss.token(headers={"user_key": "salah"})) == (401, "USER_KEY_TIDAK_VALID")
    assert galat(await oss.token(account={**ACCOUNT, "password": "salah"})) == (401, "KREDENSIAL_SALAH")
    assert galat(await oss.token(account={"username": "x"})) == (400, "DATA_TIDAK_VALID")
    assert (await oss.client.get("/_sim/tokens")).json()["issued"] == 0


async def test_registration_needs_the_user_key_and_a_live_token(oss: Oss, clock: Clock) -> None:
    headers = await oss.bearer()
    assert galat(await oss.daftar(permohonan(), headers={**headers, "user_key": "salah"})) == (401, "USER_KEY_TIDAK_VALID")
    assert galat(await oss.daftar(permohonan(), headers=USER_KEY)) == (401, "TOKEN_TIDAK_VALID")
    clock.now += timedelta(seconds=301)
    expired = await oss.daftar(permohonan(), headers=headers)
    assert galat(expired) == (401, "TOKEN_TIDAK_VALID")
    assert "invalid_token" in expired.headers["WWW-Authenticate"]
    assert (await oss.ledger())["applied"] == 0


async def test_the_token_lifetime_is_a_knob(oss: Oss) -> None:
    await oss.knobs(token_ttl_seconds=60)
    assert (await oss.token()).json()["data"]["expires_in"] == 60


# --- registration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kbli", "skala", "modal", "resiko", "status"),
    [
        ("56103", "01", 50_000_000, "R", "NIB_BERLAKU_SEBAGAI_IZIN"),
        ("10710", "01", 1_000_000_000, "MR", "WAJIB_SERTIFIKAT_STANDAR"),
        ("55110", "02", 2_000_000_000, "MT", "WAJIB_SERTIFIKAT_STANDAR_TERVERIFIKASI"),
        ("21012", "02", 5_000_000_000, "T", "WAJIB_IZIN"),
    ],
)
async def test_the_nib_is_issued_at_once_with_the_risk_level_of_the_kbli(
    oss: Oss, kbli: str, skala: str, modal: int, resiko: str, status: str
) -> None:
    response = await oss.daftar(permohonan(kbli=kbli, skala_usaha=skala, modal_usaha=modal))

    assert response.status_code == 201, response.text
    assert response.json()["status"] == 201
    data = DataNib.model_validate(response.json()["data"])
    assert len(data.nib) == 13 and data.nib.isdigit()
    assert (data.kbli, data.skala_resiko, data.status_perizinan) == (kbli, resiko, status)
    assert data.tgl_terbit_nib == NOW.date()
    assert data.nomor_referensi == "step-1"
    [entry] = (await oss.ledger())["entries"]
    assert entry["subject"] == f"{'MIKRO' if skala == '01' else 'KECIL'}/{kbli}", "the ledger names scale and KBLI, never the owner"


async def test_a_higher_risk_nib_says_what_is_still_required(oss: Oss) -> None:
    low = (await oss.daftar(permohonan(nomor_referensi="a"))).json()["data"]["keterangan"]
    high = (await oss.daftar(permohonan(nomor_referensi="b", kbli="55110", skala_usaha="02", modal_usaha=2_000_000_000))).json()["data"][
        "keterangan"
    ]

    assert "berlaku sebagai perizinan" in low
    assert "Sertifikat Standar" in high and "diverifikasi" in high


async def test_an_unknown_kbli_or_a_capital_outside_the_scale_is_refused_and_nothing_recorded(oss: Oss) -> None:
    unknown = await oss.daftar(permohonan(kbli="99999"))
    too_rich_for_micro = await oss.daftar(permohonan(modal_usaha=1_000_000_001))
    too_poor_for_small = await oss.daftar(permohonan(skala_usaha="02", modal_usaha=1_000_000_000))
    too_rich_for_small = await oss.daftar(permohonan(skala_usaha="02", modal_usaha=5_000_000_001))

    assert galat(unknown) == (422, "KBLI_TIDAK_DITEMUKAN")
    assert "99999" in unknown.json()["message"]
    for refused in (too_rich_for_micro, too_poor_for_small, too_rich_for_small):
        assert galat(refused) == (422, "SKALA_USAHA_TIDAK_SESUAI")
    assert (await oss.ledger())["applied"] == 0
    assert (await oss.daftar(permohonan())).status_code == 201, "the same reference, corrected, still applies"


async def test_a_malformed_body_is_data_parameter_salah_with_the_fields_but_not_their_values(oss: Oss) -> None:
    response = await oss.daftar(permohonan(kbli="5610", nik_penanggung_jwb="12345"))

    assert galat(response) == (400, "DATA_TIDAK_VALID")
    rincian = " ".join(response.json()["rincian"])
    assert "kbli" in rincian and "nik_penanggung_jwb" in rincian and "12345" not in rincian


async def test_the_same_reference_is_applied_once(oss: Oss) -> None:
    first = await oss.daftar(permohonan())
    again = await oss.daftar(permohonan())
    other = await oss.daftar(permohonan(nama_usaha="Lain"))

    assert again.status_code == 201 and again.headers["X-Replayed"] == "true"
    assert again.json()["data"] == first.json()["data"]
    assert galat(other) == (409, "REFERENSI_BENTROK")
    assert (await oss.ledger())["applied"] == 1


# --- knobs ---------------------------------------------------------------------------


async def test_down_and_busy_refuse_token_and_registration_alike(oss: Oss) -> None:
    headers = await oss.bearer()
    await oss.knobs(down=True)
    assert galat(await oss.token()) == (503, "LAYANAN_TIDAK_TERSEDIA")
    assert galat(await oss.daftar(permohonan(), headers=headers)) == (503, "LAYANAN_TIDAK_TERSEDIA")
    await oss.knobs(down=False, error_rate=1.0)
    busy = await oss.daftar(permohonan(), headers=headers)
    assert galat(busy) == (503, "SISTEM_SIBUK") and busy.headers["Retry-After"] == "1"
    assert (await oss.ledger())["applied"] == 0


async def test_a_dropped_reply_was_applied_and_a_garbled_one_is_not_json(oss: Oss) -> None:
    headers = await oss.bearer()
    await oss.knobs(drop_reply_after_apply=1.0)
    assert galat(await oss.daftar(permohonan(), headers=headers)) == (504, "WAKTU_HABIS")
    await oss.knobs(drop_reply_after_apply=0.0, garble_rate=1.0)
    garbled = await oss.daftar(permohonan(nomor_referensi="step-2"), headers=headers)
    assert garbled.status_code == 201 and garbled.text.startswith("<!DOCTYPE html>")
    await oss.knobs(garble_rate=0.0)
    replay = await oss.daftar(permohonan(), headers=headers)
    assert replay.headers["X-Replayed"] == "true", "the dropped one was registered"
    assert (await oss.ledger())["applied"] == 2


async def test_forced_risk_reports_a_risk_code_the_protocol_never_had(oss: Oss) -> None:
    await oss.knobs(forced_risk="X")
    assert (await oss.daftar(permohonan())).json()["data"]["skala_resiko"] == "X"


async def test_the_daily_quota_refuses_with_kuota_habis(oss: Oss) -> None:
    await oss.knobs(daily_quota=1)
    assert (await oss.daftar(permohonan(nomor_referensi="a"))).status_code == 201
    assert galat(await oss.daftar(permohonan(nomor_referensi="b"))) == (429, "KUOTA_HABIS")


async def test_the_plugin_starts_the_simulator_with_the_hub_credentials() -> None:
    app = plugin.simulator(SimulatorOptions(secrets={"user_key": "k", "username": "u", "password": "p"}))
    async with in_process(app) as client:
        oss = Oss(client)
        assert galat(await oss.token()) == (401, "USER_KEY_TIDAK_VALID")
        assert (await oss.token(account={"username": "u", "password": "p"}, headers={"user_key": "k"})).status_code == 200


def test_knobs_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        OssKnobs(token_ttl_seconds=0)
