"""Specification of the Dukcapil plug-in (examples/dukcapil-adapter, package ``mpp_dukcapil``):
its simulated NIK web service and its adapter.

The simulator tests pin down what the adapter may rely on (the register's documented
rules, error codes, apply-once per ``X-Request-Id``, the fault knobs); the adapter tests
state, for each thing Dukcapil may answer, the canonical outcome -- a report or one of
the SDK's outcome errors, never a crash.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

try:
    import mpp_dukcapil
except ModuleNotFoundError as exc:  # say how to fix it instead of a bare import error
    raise ModuleNotFoundError(
        "the Dukcapil plug-in is not installed: pip install -e examples/dukcapil-adapter (`make install` does it)"
    ) from exc
from adapters.sdk import AdapterSettingsError, AgencyAnswerInvalid, AgencyRejection, BackendSettings, TransientBackendError
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.testing.client import assert_replayed
from adapters.sdk.testing.recording import RecordedAdapters, RecordingTransport, answer, fail_with, recorded_adapters
from mpp_dukcapil.adapter import DukcapilAdapter, DukcapilSettings
from mpp_dukcapil.native import (
    HEADER_API_KEY,
    HEADER_REPLAY,
    HEADER_REQUEST_ID,
    PATH_VERIFIKASI,
    WIB,
    GalatDukcapil,
    JawabanVerifikasi,
    PermintaanVerifikasi,
)
from mpp_dukcapil.payloads import NikVerificationInput, NikVerificationOutput
from mpp_dukcapil.simulator import DEV_API_KEY, DukcapilKnobs, cari_penduduk, create_app, normalisasi_nama
from schemas.lifecycle import Status
from schemas.messages import Applicant, StepCommand

KEY = "unit-test-api-key"
SITI = "1375015203900007"  # seeded: SITI RAHMAWATI, born 12-03-1990, Guguk Panjang
RIZAL = "1375020107850003"  # seeded: RIZAL EFENDI, first registered 13.75.02, lives in 13.06.05
NAME_DIFFERS = "1375011204888123"  # serial 8123: the register holds another name
NOT_REGISTERED = "1375011204889123"  # serial 9123
BLOCKED = "1375011204888912"  # serial 8912
DECEASED = "1375011204888960"  # serial 8960
SYNTHETIC = "1375014506880042"  # serial 0042, a woman born 05-06-1988
NOW = datetime(2026, 1, 14, 9, 30, 5, tzinfo=WIB)  # a Wednesday at MPP Bukittinggi
STEP_ID = uuid.UUID("5b2f8a34-7c1d-4e8f-9a6b-0c1d2e3f4a5b")


def body(nik: str = SITI, nama: str = "Siti Rahmawati", tgl: str | None = "12-03-1990") -> dict[str, Any]:
    return {"nik": nik, "nama_lengkap": nama, "tgl_lahir": tgl}


class Clock:
    """A clock tests can move."""

    def __init__(self, at: datetime = NOW) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@asynccontextmanager
async def dukcapil(
    *, knobs: DukcapilKnobs | None = None, clock: Callable[[], datetime] | None = None, ledger_path: str = ":memory:"
) -> AsyncIterator[httpx.AsyncClient]:
    """A client wired straight into a fresh simulator app (no network)."""
    app = create_app(api_key=KEY, ledger_path=ledger_path, knobs=knobs, clock=clock or Clock())
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dukcapil.test") as client:
            yield client
    finally:
        app.state.runtime.ledger.close()


async def verify(client: httpx.AsyncClient, payload: Any, request_id: str | None = "req-1", api_key: str | None = KEY) -> httpx.Response:
    headers = {}
    if request_id is not None:
        headers[HEADER_REQUEST_ID] = request_id
    if api_key is not None:
        headers[HEADER_API_KEY] = api_key
    return await client.post(PATH_VERIFIKASI, json=payload, headers=headers)


async def ledger(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/_sim/ledger")
    response.raise_for_status()
    return dict(response.json())


async def knobs(client: httpx.AsyncClient, **values: Any) -> httpx.Response:
    return await client.put("/_sim/knobs", json=values)


def galat_of(response: httpx.Response) -> GalatDukcapil:
    return GalatDukcapil.model_validate_json(response.content)


# =============================================================== simulator: protocol


async def test_seeded_resident_is_verified_with_register_data_in_native_shape() -> None:
    async with dukcapil() as client:
        response = await verify(client, body())
    assert response.status_code == 200
    assert response.headers[HEADER_REQUEST_ID] == "req-1"
    answer = JawabanVerifikasi.model_validate_json(response.content)
    assert answer.respon == "SUKSES"
    assert answer.waktu_verifikasi == "2026-01-14 09:30:05"  # WIB wall clock, no offset
    assert answer.id_transaksi == "DKC-20260114-0000001"
    data = answer.data
    assert (data.nik, data.status_data, data.hasil_nama, data.skor_nama, data.hasil_tgl_lahir) == (SITI, "AKTIF", "SESUAI", 100, "SESUAI")
    assert (data.no_prop, data.no_kab, data.no_kec) == (13, 75, 1)
    assert data.no_kk == "1375011503150021"


async def test_names_are_compared_without_case_punctuation_or_extra_spaces() -> None:
    assert normalisasi_nama("  siti   rahmawati, s.pd. ") == "SITI RAHMAWATI SPD"
    async with dukcapil() as client:
        response = await verify(client, body(nama="  siti   RAHMAWATI. "))
    assert response.json()["data"]["hasil_nama"] == "SESUAI"


async def test_a_different_name_is_tidak_sesuai_with_its_similarity_score() -> None:
    async with dukcapil() as client:
        response = await verify(client, body(nama="Siti Rahmah"))
    data = response.json()["data"]
    assert data["hasil_nama"] == "TIDAK_SESUAI"
    assert data["skor_nama"] == 80  # below the default threshold of 90


async def test_name_threshold_is_an_agency_knob() -> None:
    async with dukcapil(knobs=DukcapilKnobs(skor_minimal_nama=75)) as client:
        response = await verify(client, body(nama="Siti Rahmah"))
    assert response.json()["data"]["hasil_nama"] == "SESUAI"


async def test_birth_date_is_compared_only_when_given() -> None:
    async with dukcapil() as client:
        wrong = await verify(client, body(tgl="13-03-1990"), request_id="a")
        absent = await verify(client, body(tgl=None), request_id="b")
    assert wrong.json()["data"]["hasil_tgl_lahir"] == "TIDAK_SESUAI"
    assert absent.json()["data"]["hasil_tgl_lahir"] == "TIDAK_DIPERIKSA"


async def test_domicile_is_the_registered_one_not_the_nik_prefix() -> None:
    async with dukcapil() as client:
        response = await verify(client, body(nik=RIZAL, nama="Rizal Efendi", tgl="01-07-1985"))
    data = response.json()["data"]
    assert (data["no_prop"], data["no_kab"], data["no_kec"]) == (13, 6, 5)
    assert RIZAL.startswith("137502")


async def test_synthetic_resident_has_the_given_name_and_the_birth_date_of_the_nik() -> None:
    async with dukcapil() as client:
        match = await verify(client, body(nik=SYNTHETIC, nama="Nama Apa Saja", tgl="05-06-1988"), request_id="a")
        wrong_date = await verify(client, body(nik=SYNTHETIC, nama="Nama Apa Saja", tgl="05-06-1989"), request_id="b")
    data = match.json()["data"]
    assert (data["hasil_nama"], data["hasil_tgl_lahir"]) == ("SESUAI", "SESUAI")
    assert (data["no_prop"], data["no_kab"], data["no_kec"]) == (13, 75, 1)
    assert data["no_kk"].startswith("137501") and len(data["no_kk"]) == 16
    assert wrong_date.json()["data"]["hasil_tgl_lahir"] == "TIDAK_SESUAI"


async def test_serials_8000_to_8499_have_another_registered_name() -> None:
    async with dukcapil() as client:
        response = await verify(client, body(nik=NAME_DIFFERS, nama="Budi Hartono", tgl=None))
    assert response.status_code == 200
    assert response.json()["data"]["hasil_nama"] == "TIDAK_SESUAI"


@pytest.mark.parametrize("nik", [NOT_REGISTERED, "1375011204889999", "1375013202900001", "1375010013900001"])
async def test_unregistered_or_impossible_nik_is_404_and_not_logged(nik: str) -> None:
    async with dukcapil() as client:
        response = await verify(client, body(nik=nik, tgl=None))
        assert (await ledger(client))["applied"] == 0
    assert response.status_code == 404
    assert galat_of(response).kode == "NIK_TIDAK_TERDAFTAR"


@pytest.mark.parametrize(
    ("nik", "status"), [(BLOCKED, "DIBLOKIR"), (DECEASED, "MENINGGAL"), ("1375034506720012", "MENINGGAL"), ("1375031008950044", "DIBLOKIR")]
)
async def test_blocked_and_deceased_records_disclose_only_their_status(nik: str, status: str) -> None:
    async with dukcapil() as client:
        response = await verify(client, body(nik=nik, tgl=None))
        assert (await ledger(client))["applied"] == 1  # a verification that happened
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status_data"] == status
    assert [k for k, v in data.items() if v is not None] == ["nik", "status_data"]


def test_register_rules_are_deterministic() -> None:
    today = NOW.date()
    assert cari_penduduk(NOT_REGISTERED, today) is None
    assert cari_penduduk(BLOCKED, today).status == "DIBLOKIR"  # type: ignore[union-attr]
    assert cari_penduduk(DECEASED, today).status == "MENINGGAL"  # type: ignore[union-attr]
    assert cari_penduduk(SYNTHETIC, today) == cari_penduduk(SYNTHETIC, today)


# =============================================================== simulator: refusals


@pytest.mark.parametrize("api_key", [None, "", "wrong-key"])
async def test_missing_or_wrong_api_key_is_401(api_key: str | None) -> None:
    async with dukcapil() as client:
        response = await verify(client, body(), api_key=api_key)
        assert (await ledger(client))["applied"] == 0
    assert response.status_code == 401
    assert galat_of(response).kode == "API_KEY_TIDAK_VALID"


@pytest.mark.parametrize("request_id", [None, "", "x" * 101, "dua kata"])
async def test_missing_or_malformed_request_id_is_400(request_id: str | None) -> None:
    async with dukcapil() as client:
        response = await verify(client, body(), request_id=request_id)
    assert response.status_code == 400
    assert galat_of(response).kode == "REQUEST_ID_WAJIB"


@pytest.mark.parametrize(
    "payload",
    [
        {"nik": "13750152039000", "nama_lengkap": "Siti"},
        {"nik": SITI, "nama_lengkap": ""},
        {"nik": SITI, "nama_lengkap": "Siti", "tgl_lahir": "1990-03-12"},
        {"nik": SITI, "nama_lengkap": "Siti", "tgl_lahir": "31-02-1990"},
        {"nik": SITI, "nama_lengkap": "Siti", "alamat": "Bukittinggi"},
        ["not", "an", "object"],
    ],
)
async def test_malformed_body_is_422_without_echoing_the_nik(payload: Any) -> None:
    async with dukcapil() as client:
        response = await verify(client, payload)
    assert response.status_code == 422
    error = galat_of(response)
    assert error.kode == "DATA_TIDAK_VALID"
    assert SITI not in response.text


async def test_body_that_is_not_json_is_422() -> None:
    async with dukcapil() as client:
        response = await client.post(PATH_VERIFIKASI, content=b"nik=1", headers={HEADER_API_KEY: KEY, HEADER_REQUEST_ID: "r"})
    assert response.status_code == 422


async def test_unknown_path_answers_in_dukcapil_error_shape() -> None:
    async with dukcapil() as client:
        response = await client.get("/api/v1/tidak-ada")
    assert response.status_code == 404
    assert galat_of(response).kode == "TIDAK_DITEMUKAN"


# =============================================================== simulator: idempotency


async def test_same_request_id_and_body_replays_the_stored_answer() -> None:
    clock = Clock()
    async with dukcapil(clock=clock) as client:
        first = await verify(client, body())
        clock.at = NOW + timedelta(minutes=5)
        second = await verify(client, {"tgl_lahir": "12-03-1990", "nama_lengkap": "Siti Rahmawati", "nik": SITI})
        state = await ledger(client)
    assert_replayed(first, second, state, header=HEADER_REPLAY)  # same waktu_verifikasi and id_transaksi


async def test_same_request_id_with_another_body_is_a_conflict() -> None:
    async with dukcapil() as client:
        await verify(client, body())
        other = await verify(client, body(nama="Orang Lain"))
        assert (await ledger(client))["applied"] == 1
    assert other.status_code == 409
    assert galat_of(other).kode == "REQUEST_ID_SUDAH_DIPAKAI"


async def test_ledger_records_a_masked_nik_only() -> None:
    async with dukcapil() as client:
        await verify(client, body(), request_id="step-xyz")
        state = await ledger(client)
    [entry] = state["entries"]
    assert (entry["key"], entry["operation"], entry["subject"]) == ("step-xyz", "VERIFIKASI_NIK", "1375**********07")
    assert SITI not in json.dumps(state)


async def test_a_file_ledger_survives_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "dukcapil.db")
    async with dukcapil(ledger_path=path) as client:
        first = await verify(client, body())
    async with dukcapil(ledger_path=path, clock=Clock(NOW + timedelta(days=1))) as client:
        again = await verify(client, body())
        assert (await ledger(client))["applied"] == 1
    assert again.json() == first.json()


async def test_concurrent_requests_with_one_id_apply_once() -> None:
    async with dukcapil() as client:
        replies = await asyncio.gather(*(verify(client, body(), request_id="same") for _ in range(10)))
        state = await ledger(client)
    assert {r.status_code for r in replies} == {200}
    assert len({r.text for r in replies}) == 1
    assert (state["applied"], state["replayed"]) == (1, 9)


# =============================================================== simulator: knobs


@pytest.mark.parametrize(
    ("knob", "api_key", "kode", "retry_after"),
    [
        ({"down": True}, None, "LAYANAN_TIDAK_TERSEDIA", "5"),  # before anything else: even the key check is not reached
        ({"error_rate": 1.0}, KEY, "LAYANAN_SIBUK", "1"),
    ],
    ids=["down-is-unavailable", "error-rate-is-busy"],
)
async def test_down_and_error_rate_answer_503_and_apply_nothing(
    knob: dict[str, Any], api_key: str | None, kode: str, retry_after: str
) -> None:
    async with dukcapil() as client:
        await knobs(client, **knob)
        response = await verify(client, body(), api_key=api_key)
        assert (await ledger(client))["applied"] == 0
    assert (response.status_code, galat_of(response).kode, response.headers["Retry-After"]) == (503, kode, retry_after)


async def test_latency_delays_the_answer() -> None:
    async with dukcapil() as client:
        await knobs(client, latency_ms=200)
        started = time.monotonic()
        response = await verify(client, body())
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.2


async def test_dropped_reply_is_504_after_applying_and_a_retry_gets_the_stored_answer() -> None:
    async with dukcapil() as client:
        await knobs(client, drop_reply_after_apply=1.0)
        lost = await verify(client, body())
        assert (await ledger(client))["applied"] == 1
        await knobs(client, drop_reply_after_apply=0.0)
        retry = await verify(client, body())
        state = await ledger(client)
    assert lost.status_code == 504
    assert galat_of(lost).kode == "WAKTU_HABIS"
    assert retry.status_code == 200 and retry.headers[HEADER_REPLAY] == "true"
    assert (state["applied"], state["replayed"]) == (1, 1)


async def test_garble_applies_then_answers_html_with_200() -> None:
    async with dukcapil() as client:
        await knobs(client, garble_rate=1.0)
        response = await verify(client, body())
        assert (await ledger(client))["applied"] == 1
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


async def test_daily_quota_is_429_then_replays_still_answer() -> None:
    async with dukcapil() as client:
        await knobs(client, daily_quota=1)
        first = await verify(client, body(), request_id="a")
        over = await verify(client, body(), request_id="b")
        replay = await verify(client, body(), request_id="a")
    assert first.status_code == 200
    assert over.status_code == 429 and galat_of(over).kode == "KUOTA_AKSES_HABIS"
    assert replay.status_code == 200


async def test_quota_counts_per_wib_day() -> None:
    clock = Clock()
    async with dukcapil(clock=clock, knobs=DukcapilKnobs(daily_quota=1)) as client:
        await verify(client, body(), request_id="a")
        clock.at = NOW + timedelta(days=1)
        tomorrow = await verify(client, body(), request_id="b")
    assert tomorrow.status_code == 200


async def test_unknown_or_invalid_knob_is_refused() -> None:
    async with dukcapil() as client:
        typo = await knobs(client, eror_rate=1.0)
        invalid = await knobs(client, skor_minimal_nama=101)
        current = (await client.get("/_sim/knobs")).json()
    assert typo.status_code == 422 and invalid.status_code == 422
    assert current["error_rate"] == 0.0 and current["skor_minimal_nama"] == 90


async def test_error_rate_below_one_follows_the_seed() -> None:
    async def statuses() -> list[int]:
        async with dukcapil(knobs=DukcapilKnobs(error_rate=0.5, seed=7)) as client:
            return [(await verify(client, body(), request_id=f"r{i}")).status_code for i in range(12)]

    first, second = await statuses(), await statuses()
    assert first == second
    assert set(first) == {200, 503}


async def test_the_plug_ins_simulator_takes_the_api_key_from_the_secrets() -> None:
    configured = mpp_dukcapil.plugin.simulator(SimulatorOptions(secrets={"api_key": "from-secrets"}))
    default = mpp_dukcapil.plugin.simulator(SimulatorOptions())
    for app, good in ((configured, "from-secrets"), (default, DEV_API_KEY)):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://d.test") as client:
            assert (await verify(client, body(), api_key=good)).status_code == 200
            assert (await verify(client, body(), request_id="r2", api_key=KEY)).status_code == 401
        app.state.runtime.ledger.close()


def test_the_plug_in_still_gives_its_payloads_after_its_modules_are_imported() -> None:
    """Importing a submodule binds its name on the package (``mpp_dukcapil.payloads`` is
    now the module); the plug-in object the hub uses must not depend on those names."""
    import mpp_dukcapil.contract
    import mpp_dukcapil.payloads

    assert callable(mpp_dukcapil.plugin.payloads) and callable(mpp_dukcapil.plugin.contract)
    assert mpp_dukcapil.plugin.payloads()["dukcapil.nik_verification"].input is NikVerificationInput
    assert mpp_dukcapil.plugin.contract().agency == "dukcapil"


def test_the_plug_ins_dev_defaults_match_its_simulator_and_its_settings_model() -> None:
    """`mpp-hub dev` runs the adapter with the plug-in's dev settings against the simulator
    started with the same secrets: both must be what the simulator expects on its own."""
    plugin = mpp_dukcapil.plugin
    assert plugin.dev.settings["api_key"] == DEV_API_KEY
    settings = plugin.backend_settings(plugin.dev_settings(plugin.dev.port, "http://127.0.0.1:8000"), {})
    assert isinstance(settings, DukcapilSettings)
    assert str(settings.base_url) == f"http://127.0.0.1:{plugin.dev.port}/"
    assert plugin.simulator_options(settings).secrets == {"api_key": DEV_API_KEY}


# =============================================================== adapter


def command(nik: str = SITI, full_name: str = "Siti Rahmawati", birth_date: str | None = "1990-03-12", **extra: Any) -> StepCommand:
    data: dict[str, Any] = {"nik": nik, "full_name": full_name, **extra}
    if birth_date is not None:
        data["birth_date"] = birth_date
    return StepCommand(
        service="dukcapil.nik_verification",
        operation="nik_verification",
        applicant=Applicant(nik="1375010101800001", name="Petugas MPP"),
        data=data,
    )


def success(nik: str = SITI, **data: Any) -> dict[str, Any]:
    return {
        "respon": "SUKSES",
        "id_transaksi": "DKC-20260114-0000042",
        "waktu_verifikasi": "2026-01-14 09:30:05",
        "data": {
            "nik": nik,
            "status_data": "AKTIF",
            "hasil_nama": "SESUAI",
            "skor_nama": 100,
            "hasil_tgl_lahir": "SESUAI",
            "no_kk": "1306052001200007",
            "no_prop": 13,
            "no_kab": 6,
            "no_kec": 5,
            **data,
        },
    }


def galat(kode: str, pesan: str = "ditolak") -> dict[str, Any]:
    return {"respon": "GAGAL", "kode": kode, "pesan": pesan}


@pytest.fixture
async def make_adapter() -> AsyncIterator[RecordedAdapters[DukcapilAdapter, RecordingTransport]]:
    # Plain BackendSettings with the extra, exactly as the hub's configuration hands it over.
    settings = BackendSettings.model_validate({"base_url": "http://dukcapil.test", "timeout_seconds": 0.5, "api_key": KEY})
    async with recorded_adapters(lambda transport: DukcapilAdapter(settings, transport=transport)) as make:
        yield make


# --- canonical -> native


async def test_translates_the_step_to_dukcapil_native_request(make_adapter) -> None:
    adapter, backend = make_adapter(answer(200, success()))
    await adapter.execute(command(nik="1375.0152.0390.0007"), STEP_ID)
    [request] = backend.requests
    assert (request.method, request.url) == ("POST", httpx.URL("http://dukcapil.test" + PATH_VERIFIKASI))
    assert request.headers[HEADER_API_KEY] == KEY
    assert request.headers[HEADER_REQUEST_ID] == str(STEP_ID)
    sent = json.loads(request.content)
    assert sent == {"nik": SITI, "nama_lengkap": "Siti Rahmawati", "tgl_lahir": "12-03-1990"}
    PermintaanVerifikasi.model_validate(sent)  # Dukcapil's strict schema accepts it


async def test_birth_date_is_optional_on_the_wire_too(make_adapter) -> None:
    adapter, backend = make_adapter(answer(200, success(hasil_tgl_lahir="TIDAK_DIPERIKSA")))
    report = await adapter.execute(command(birth_date=None), STEP_ID)
    assert json.loads(backend.requests[0].content)["tgl_lahir"] is None
    assert report.outputs["birth_date_check"] == "NOT_CHECKED"


async def test_each_step_id_is_its_own_request_id(make_adapter) -> None:
    adapter, backend = make_adapter(answer(200, success()))
    other = uuid.uuid4()
    await adapter.execute(command(), STEP_ID)
    await adapter.execute(command(), other)
    assert [r.headers[HEADER_REQUEST_ID] for r in backend.requests] == [str(STEP_ID), str(other)]


@pytest.mark.parametrize("data", [{"nik": "123", "full_name": "X"}, {"nik": SITI}, {"nik": SITI, "full_name": "X", "extra": 1}])
async def test_step_input_that_does_not_match_the_service_never_reaches_dukcapil(make_adapter, data: dict[str, Any]) -> None:
    adapter, backend = make_adapter(answer(200, success()))
    bad = StepCommand(service="dukcapil.nik_verification", operation="nik_verification", applicant=Applicant(nik=SITI, name="S"), data=data)
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(bad, STEP_ID)
    assert exc.value.code == "invalid_step_input"
    assert backend.requests == []


async def test_an_unknown_operation_is_refused_before_calling(make_adapter) -> None:
    adapter, backend = make_adapter(answer(200, success()))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(command().model_copy(update={"operation": "kk_update"}), STEP_ID)
    assert exc.value.code == "unsupported_operation"
    assert backend.requests == []


# --- native -> canonical: success


async def test_aktif_answer_becomes_completed_with_canonical_masked_outputs(make_adapter) -> None:
    adapter, _ = make_adapter(answer(200, success()))
    report = await adapter.execute(command(), STEP_ID)
    assert report.status is Status.COMPLETED
    assert (report.agency_status, report.agency_ref) == ("AKTIF", "DKC-20260114-0000042")
    output = NikVerificationOutput.model_validate(report.outputs)
    assert output.match_result == "MATCH"
    assert output.birth_date_check == "MATCH"
    assert (output.region.province, output.region.regency, output.region.district) == ("13", "1306", "130605")
    assert output.nik_masked == "1375**********07"
    assert output.kk_number_masked == "1306**********07"
    assert output.verified_at == datetime(2026, 1, 14, 2, 30, 5, tzinfo=WIB.utc)  # 09:30:05 WIB
    assert report.outputs["verified_at"] == "2026-01-14T09:30:05+07:00"
    assert output.agency_reference == "DKC-20260114-0000042"
    assert SITI not in json.dumps(report.outputs) and "1306052001200007" not in json.dumps(report.outputs)


@pytest.mark.parametrize(
    ("hasil_nama", "hasil_tgl", "match", "birth"),
    [("TIDAK_SESUAI", "SESUAI", "NAME_MISMATCH", "MATCH"), ("SESUAI", "TIDAK_SESUAI", "MATCH", "MISMATCH")],
)
async def test_comparison_results_map_to_canonical_values(make_adapter, hasil_nama: str, hasil_tgl: str, match: str, birth: str) -> None:
    adapter, _ = make_adapter(answer(200, success(hasil_nama=hasil_nama, hasil_tgl_lahir=hasil_tgl)))
    report = await adapter.execute(command(), STEP_ID)
    assert report.status is Status.COMPLETED  # a name mismatch is an answer, not a refusal
    assert (report.outputs["match_result"], report.outputs["birth_date_check"]) == (match, birth)


# --- native -> canonical: refusals


@pytest.mark.parametrize(("status_data", "code"), [("DIBLOKIR", "nik_record_blocked"), ("MENINGGAL", "nik_holder_deceased")])
async def test_blocked_or_deceased_record_is_rejected(make_adapter, status_data: str, code: str) -> None:
    only_status = {
        "respon": "SUKSES",
        "id_transaksi": "DKC-1",
        "waktu_verifikasi": "2026-01-14 09:30:05",
        "data": {"nik": SITI, "status_data": status_data},
    }
    adapter, _ = make_adapter(answer(200, only_status))
    with pytest.raises(AgencyRejection) as exc:
        await adapter.execute(command(), STEP_ID)
    assert (exc.value.code, exc.value.agency_code) == (code, status_data)


@pytest.mark.parametrize(
    ("status", "kode", "code"), [(404, "NIK_TIDAK_TERDAFTAR", "nik_not_registered"), (429, "KUOTA_AKSES_HABIS", "agency_quota_exhausted")]
)
async def test_refusals_on_the_merits_are_rejections(make_adapter, status: int, kode: str, code: str) -> None:
    adapter, _ = make_adapter(answer(status, galat(kode, "NIK tidak terdaftar")))
    with pytest.raises(AgencyRejection) as exc:
        await adapter.execute(command(), STEP_ID)
    assert (exc.value.code, exc.value.agency_code, exc.value.message) == (code, kode, "NIK tidak terdaftar")


# --- transient


@pytest.mark.parametrize(
    ("status", "kode"), [(503, "LAYANAN_SIBUK"), (503, "LAYANAN_TIDAK_TERSEDIA"), (504, "WAKTU_HABIS"), (502, None), (500, None)]
)
async def test_server_side_failures_are_transient(make_adapter, status: int, kode: str | None) -> None:
    handler = answer(status, galat(kode), headers={"Retry-After": "7"}) if kode else answer(status, raw=b"<html>Bad Gateway</html>")
    adapter, _ = make_adapter(handler)
    with pytest.raises(TransientBackendError) as exc:
        await adapter.execute(command(), STEP_ID)
    assert exc.value.retry_after == (7.0 if kode else None)


@pytest.mark.parametrize("error", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("cut")])
async def test_network_failures_are_transient(make_adapter, error: Exception) -> None:
    adapter, _ = make_adapter(fail_with(error))
    with pytest.raises(TransientBackendError):
        await adapter.execute(command(), STEP_ID)


# --- answers that make no sense: FAILED with a reason, never a crash


async def test_wrong_api_key_fails_with_a_configuration_reason(make_adapter) -> None:
    adapter, _ = make_adapter(answer(401, galat("API_KEY_TIDAK_VALID", "API key tidak dikenal.")))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(command(), STEP_ID)
    assert (exc.value.code, exc.value.agency_code) == ("agency_auth_failed", "API_KEY_TIDAK_VALID")


@pytest.mark.parametrize("kode", ["REQUEST_ID_SUDAH_DIPAKAI", "DATA_TIDAK_VALID", "REQUEST_ID_WAJIB"])
async def test_other_native_errors_fail_with_dukcapils_code(make_adapter, kode: str) -> None:
    adapter, _ = make_adapter(answer(409 if kode == "REQUEST_ID_SUDAH_DIPAKAI" else 422, galat(kode)))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(command(), STEP_ID)
    assert (exc.value.code, exc.value.agency_code) == ("agency_refused_request", kode)


async def test_unknown_status_data_fails_as_unknown_status(make_adapter) -> None:
    adapter, _ = make_adapter(answer(200, success(status_data="DALAM_PERBAIKAN")))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(command(), STEP_ID)
    assert (exc.value.code, exc.value.agency_code) == ("agency_status_unknown", "DALAM_PERBAIKAN")


@pytest.mark.parametrize(
    ("status", "raw"),
    [
        (200, b"<html><body>Gangguan</body></html>"),
        (200, b""),
        (200, b"\xff\xfe"),
        (200, json.dumps(success(no_kk="123")).encode()),
        (200, json.dumps({**success(), "waktu_verifikasi": "14-01-2026 09:30"}).encode()),
        (200, json.dumps({**success(), "waktu_verifikasi": "2026-13-45 09:30:05"}).encode()),
        (200, json.dumps({**success(), "respon": "GAGAL"}).encode()),
        (200, json.dumps(success(nik="1375011204880042")).encode()),
        (200, json.dumps(success(no_kk=None)).encode()),
        (200, json.dumps(success(hasil_nama="TIDAK_DIPERIKSA")).encode()),
        (200, json.dumps([1, 2]).encode()),
        (404, b"Not Found"),
        (418, json.dumps({"kode": "TEH"}).encode()),
    ],
)
async def test_unreadable_or_schema_invalid_answers_fail_as_invalid(make_adapter, status: int, raw: bytes) -> None:
    adapter, _ = make_adapter(answer(status, raw=raw))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(command(), STEP_ID)
    assert exc.value.code == "agency_answer_invalid"
    assert SITI not in str(exc.value)


# --- settings and privacy


def test_the_api_key_is_required_and_kept_secret() -> None:
    with pytest.raises(AdapterSettingsError, match="MPP_AGENCIES__DUKCAPIL__API_KEY is required"):
        DukcapilAdapter(BackendSettings(base_url="http://dukcapil.test"))
    settings = DukcapilSettings(base_url="http://dukcapil.test", api_key="s3cret")
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.model_dump())


async def test_logs_show_only_a_masked_nik(make_adapter, caplog: pytest.LogCaptureFixture) -> None:
    adapter, _ = make_adapter(answer(200, success()))
    with caplog.at_level(logging.DEBUG, logger="mpp_dukcapil"):
        await adapter.execute(command(), STEP_ID)
    assert "1375**********07" in caplog.text
    assert SITI not in caplog.text


# --- against the simulator itself


@pytest.fixture
async def simulated() -> AsyncIterator[tuple[DukcapilAdapter, httpx.AsyncClient]]:
    app = create_app(api_key=KEY, clock=Clock())
    transport = httpx.ASGITransport(app=app)
    adapter = DukcapilAdapter(DukcapilSettings(base_url="http://dukcapil.test", api_key=KEY), transport=transport)
    async with httpx.AsyncClient(transport=transport, base_url="http://dukcapil.test") as control:
        yield adapter, control
    await adapter.aclose()
    app.state.runtime.ledger.close()


async def test_adapter_and_simulator_agree_end_to_end(simulated: tuple[DukcapilAdapter, httpx.AsyncClient]) -> None:
    adapter, _ = simulated
    report = await adapter.execute(command(nik=RIZAL, full_name="rizal efendi", birth_date="1985-07-01"), STEP_ID)
    output = NikVerificationOutput.model_validate(report.outputs)
    assert (output.match_result, output.birth_date_check, output.region.district) == ("MATCH", "MATCH", "130605")
    NikVerificationInput.model_validate(command().data)


async def test_a_repeated_step_is_applied_once_and_answers_the_same(simulated: tuple[DukcapilAdapter, httpx.AsyncClient]) -> None:
    adapter, control = simulated
    first = await adapter.execute(command(), STEP_ID)
    second = await adapter.execute(command(), STEP_ID)
    state = await ledger(control)
    assert first == second
    assert (state["applied"], state["replayed"]) == (1, 1)
    assert state["entries"][0]["key"] == str(STEP_ID)


@pytest.mark.parametrize(
    ("nik", "code"), [(NOT_REGISTERED, "nik_not_registered"), (BLOCKED, "nik_record_blocked"), (DECEASED, "nik_holder_deceased")]
)
async def test_simulated_refusals_reach_the_adapter_as_rejections(
    simulated: tuple[DukcapilAdapter, httpx.AsyncClient], nik: str, code: str
) -> None:
    adapter, _ = simulated
    with pytest.raises(AgencyRejection) as exc:
        await adapter.execute(command(nik=nik, birth_date=None), STEP_ID)
    assert exc.value.code == code


async def test_simulated_faults_reach_the_adapter_as_the_right_outcomes(simulated: tuple[DukcapilAdapter, httpx.AsyncClient]) -> None:
    adapter, control = simulated
    await knobs(control, error_rate=1.0)
    with pytest.raises(TransientBackendError):
        await adapter.execute(command(), uuid.uuid4())
    await knobs(control, error_rate=0.0, garble_rate=1.0)
    with pytest.raises(AgencyAnswerInvalid):
        await adapter.execute(command(), uuid.uuid4())
    await knobs(control, garble_rate=0.0, daily_quota=0)
    with pytest.raises(AgencyRejection) as exc:
        await adapter.execute(command(), uuid.uuid4())
    assert exc.value.code == "agency_quota_exhausted"
