"""Specification of the BPJS Kesehatan JKN membership simulator
(adapters/bpjs_kesehatan/simulator.py).

BPJS Kesehatan signs every request (``X-cons-id``, ``X-timestamp``, ``X-signature``)
and wraps every answer in ``{"metaData": {"code", "message"}, "response"}``, with
refusals on the merits as HTTP 200. These tests pin down what the adapter may rely
on: the signature and clock check, the envelope, the simulated register, apply-once
per ``noReferensi``, and the knobs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from adapters.bpjs_kesehatan import plugin
from adapters.bpjs_kesehatan.native import HasilPengecekan, tanda_tangan
from adapters.bpjs_kesehatan.simulator import DEV_CONS_ID, DEV_SECRET, BpjsKnobs, create_app, nomor_kartu, peserta
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.testing.client import in_process, put_knobs, read_ledger
from adapters.sdk.testing.clock import WIB

PATH = "/jkn-layanan-publik/v1/kepesertaan/pengecekan"
NOW = datetime(2026, 1, 14, 9, 30, tzinfo=WIB)
NIK = "1375015203900007"
NIK_MENUNGGAK = "1375022708850081"
NIK_PBI_NONAKTIF = "1375024506850082"
NIK_PHK = "1375031708800083"
NIK_TIDAK_TERDAFTAR = "1375010101900100"


def headers(now: datetime = NOW, cons_id: str = DEV_CONS_ID, secret: str = DEV_SECRET) -> dict[str, str]:
    timestamp = str(int(now.timestamp()))
    return {"X-cons-id": cons_id, "X-timestamp": timestamp, "X-signature": tanda_tangan(cons_id, timestamp, secret)}


def permintaan(ref: str = "step-1", nik: str = NIK, **changes: Any) -> dict[str, Any]:
    return {"noReferensi": ref, "nik": nik, "keperluan": "SKCK", "tglPelayanan": "2026-01-14", **changes}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(create_app(clock=lambda: NOW)) as c:
        yield c


async def check(client: httpx.AsyncClient, body: dict[str, Any], signed: dict[str, str] | None = None) -> httpx.Response:
    return await client.post(PATH, json=body, headers=headers() if signed is None else signed)


# ------------------------------------------------------------------ the signature


def test_the_signature_is_base64_hmac_sha256_of_cons_id_and_timestamp() -> None:
    expected = base64.b64encode(hmac.new(b"pwd", b"1234&433223232", hashlib.sha256).digest()).decode()
    assert tanda_tangan("1234", "433223232", "pwd") == expected


@pytest.mark.parametrize(
    ("signed", "why"),
    [
        ({}, "wajib diisi"),
        (headers(cons_id="someone-else"), "Consumer ID tidak dikenal"),
        (headers(secret="wrong-secret"), "Signature tidak valid"),
        ({**headers(), "X-timestamp": "kemarin"}, "detik Unix"),
        (headers(now=datetime(2026, 1, 14, 9, 0, tzinfo=WIB)), "berselisih 1800 detik"),
    ],
)
async def test_an_unsigned_or_wrongly_signed_request_is_refused_with_401_and_nothing_recorded(
    client: httpx.AsyncClient, signed: dict[str, str], why: str
) -> None:
    response = await check(client, permintaan(), signed)

    assert response.status_code == 401
    assert response.json()["metaData"]["code"] == "401"
    assert why in response.json()["metaData"]["message"]
    assert response.json()["response"] is None
    assert (await read_ledger(client))["applied"] == 0


async def test_the_clock_tolerance_is_a_knob(client: httpx.AsyncClient) -> None:
    late = headers(now=datetime(2026, 1, 14, 9, 20, tzinfo=WIB))  # 600 s behind
    assert (await check(client, permintaan(), late)).status_code == 401
    await put_knobs(client, timestamp_tolerance_seconds=900)
    assert (await check(client, permintaan(), late)).status_code == 200


# ------------------------------------------------------------------ the register


async def test_an_active_member_is_answered_in_the_envelope_and_recorded(client: httpx.AsyncClient) -> None:
    response = await check(client, permintaan())

    assert response.status_code == 200
    body = response.json()
    assert body["metaData"] == {"code": "200", "message": "OK"}
    hasil = HasilPengecekan.model_validate({k: v for k, v in body["response"].items() if k != "ulangan"})
    assert body["response"]["ulangan"] is False
    assert (hasil.no_referensi, hasil.peserta.nik, hasil.peserta.no_kartu) == ("step-1", NIK, nomor_kartu(NIK))
    assert (hasil.peserta.status_peserta.kode, hasil.peserta.status_peserta.keterangan) == ("0", "AKTIF")
    assert hasil.waktu_pengecekan == "2026-01-14 09:30:00"
    assert hasil.no_pengecekan.startswith("JKN260114")
    ledger = await read_ledger(client)
    assert ledger["applied"] == 1
    assert NIK not in str(ledger), "the ledger names the member by a pseudonym"


@pytest.mark.parametrize(
    ("nik", "kode", "segmen"),
    [(NIK_MENUNGGAK, "1", "PBPU"), (NIK_PBI_NONAKTIF, "2", "PBI_APBD"), (NIK_PHK, "3", "PPU")],
)
async def test_inactive_members_are_an_answer_with_the_reason(client: httpx.AsyncClient, nik: str, kode: str, segmen: str) -> None:
    response = await check(client, permintaan(nik=nik))

    assert (response.status_code, response.json()["metaData"]["code"]) == (200, "200")
    member = response.json()["response"]["peserta"]
    assert member["statusPeserta"]["kode"] == kode
    assert member["statusPeserta"]["keterangan"].startswith("TIDAK AKTIF")
    assert member["jenisPeserta"]["kode"] == segmen


async def test_a_nik_not_in_the_register_is_code_201_with_http_200_and_nothing_recorded(client: httpx.AsyncClient) -> None:
    response = await check(client, permintaan(nik=NIK_TIDAK_TERDAFTAR))

    assert response.status_code == 200, "BPJS answers refusals on the merits with HTTP 200"
    assert response.json()["metaData"]["code"] == "201"
    assert "tidak ditemukan" in response.json()["metaData"]["message"]
    assert (await read_ledger(client))["applied"] == 0


async def test_a_card_number_must_be_the_members_own(client: httpx.AsyncClient) -> None:
    own = await check(client, permintaan(noKartu=nomor_kartu(NIK)))
    foreign = await check(client, permintaan("step-2", noKartu=nomor_kartu(NIK_MENUNGGAK)))

    assert own.json()["metaData"]["code"] == "200"
    assert (foreign.status_code, foreign.json()["metaData"]["code"]) == (200, "202")


def test_pbi_members_are_class_3_and_every_member_has_a_bukittinggi_fktp() -> None:
    member = peserta(NIK_PBI_NONAKTIF)
    assert member.hak_kelas is not None and member.hak_kelas.kode == "3"
    assert member.prov_umum.kd_provider.startswith("0302P")
    assert len(nomor_kartu(NIK)) == 13 and nomor_kartu(NIK) == nomor_kartu(NIK), "stable per NIK"


async def test_a_malformed_body_is_http_400_naming_the_field_never_its_value(client: httpx.AsyncClient) -> None:
    response = await check(client, permintaan(nik="12345"))

    assert response.status_code == 400
    assert response.json()["metaData"]["code"] == "400"
    assert "nik" in response.json()["metaData"]["message"] and "12345" not in response.json()["metaData"]["message"]


# ------------------------------------------------------------------ apply once


async def test_a_repeated_reference_replays_the_recorded_check_and_another_body_conflicts(client: httpx.AsyncClient) -> None:
    first = await check(client, permintaan())
    again = await check(client, permintaan())
    other = await check(client, permintaan(keperluan="SIM C baru"))

    assert again.json()["response"] == {**first.json()["response"], "ulangan": True}
    assert (other.status_code, other.json()["metaData"]["code"]) == (409, "409")
    ledger = await read_ledger(client)
    assert (ledger["applied"], ledger["replayed"]) == (1, 1)


# ------------------------------------------------------------------ knobs


async def test_down_and_busy_are_503_in_the_envelope_busy_with_retry_after(client: httpx.AsyncClient) -> None:
    await put_knobs(client, down=True)
    down = await check(client, permintaan())
    await put_knobs(client, down=False, error_rate=1.0)
    busy = await check(client, permintaan())

    assert (down.status_code, down.json()["metaData"]["code"]) == (503, "503")
    assert (busy.status_code, busy.json()["metaData"]["code"], busy.headers["Retry-After"]) == (503, "503", "1")
    assert (await read_ledger(client))["applied"] == 0


async def test_a_dropped_reply_is_504_after_recording_and_the_retry_gets_the_record(client: httpx.AsyncClient) -> None:
    await put_knobs(client, drop_reply_after_apply=1.0)
    lost = await check(client, permintaan())
    await put_knobs(client, drop_reply_after_apply=0.0)
    retried = await check(client, permintaan())

    assert (lost.status_code, lost.json()["metaData"]["code"]) == (504, "504")
    assert retried.json()["response"]["ulangan"] is True
    assert (await read_ledger(client))["applied"] == 1


async def test_a_garbled_reply_is_a_gateway_page_or_an_opaque_response(client: httpx.AsyncClient) -> None:
    await put_knobs(client, garble_rate=1.0, seed=3)
    shapes = set()
    for i in range(8):
        response = await check(client, permintaan(f"garble-{i}"))
        assert response.status_code == 200
        if response.headers["content-type"].startswith("text/html"):
            shapes.add("page")
        else:
            assert isinstance(response.json()["response"], str)
            shapes.add("opaque")
    assert shapes == {"page", "opaque"}


async def test_status_override_replaces_the_status_code_and_a_daily_quota_is_429(client: httpx.AsyncClient) -> None:
    await put_knobs(client, status_override="9")
    overridden = await check(client, permintaan())
    await put_knobs(client, status_override=None, daily_quota=1)
    refused = await check(client, permintaan("step-2"))

    assert overridden.json()["response"]["peserta"]["statusPeserta"]["kode"] == "9"
    assert (refused.status_code, refused.json()["metaData"]["code"]) == (429, "429")


# ------------------------------------------------------------------ the plug-in's factory


async def test_the_factory_takes_the_hubs_consumer_and_refuses_unknown_secret_names() -> None:
    app = plugin.simulator(SimulatorOptions(secrets={"cons_id": "hub-prod", "secret": "s3cret"}))
    async with in_process(app) as client:
        assert (await check(client, permintaan(), headers(datetime.now(WIB), "hub-prod", "s3cret"))).status_code == 200
        assert (await check(client, permintaan("step-2"), headers(datetime.now(WIB)))).status_code == 401
    with pytest.raises(ValueError, match="unknown BPJS Kesehatan simulator secret"):
        plugin.simulator(SimulatorOptions(secrets={"api_key": "x"}))


def test_knobs_refuse_unknown_names() -> None:
    with pytest.raises(ValueError):
        BpjsKnobs.model_validate({"timestamp_tolerance": 5})
