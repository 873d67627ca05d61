"""A stand-in for Samsat's backend: a separate HTTP service speaking Samsat's native API.

Why it exists: the Samsat adapter must be developed and fault-tested against something
that behaves like the real, foreign system -- its own Indonesian field names, its own
error shape, its own idempotency contract, and its bad days (slowness, overload,
outages, replies lost or mangled after the work was done, daily quotas). Talking to
the real Samsat from tests is neither possible nor desirable.

It imports nothing from ``hub``. The request pipeline, the fault knobs, the apply-once
ledger, the clock and the working-day calendar come from the SDK's simulator scaffold
(:mod:`adapters.sdk.testing.scaffold`); the vehicle register is the one Polri keeps
(:mod:`adapters.sdk.testing.registers`). What is Samsat's own lives here: the native
operations, the business rules and how its protocol speaks (:class:`DialekSamsat`).

Native API
==========

Every operation is ``POST`` with header ``Idempotency-Key`` (required; the hub passes
its step id) and a strict JSON body (unknown fields refused). 200 replies are the
operation's ``Hasil...`` model; every error reply is
:class:`~adapters.samsat.native.GalatSamsat` (``{"status": "GAGAL", "kode_error",
"pesan"}``).

``POST /api/v1/pkb/pengesahan`` -- annual PKB payment + STNK endorsement
    :class:`~adapters.samsat.native.PermohonanPengesahan` ->
    :class:`~adapters.samsat.native.HasilPengesahan`.
``POST /api/v1/stnk/perpanjangan-lima-tahunan`` -- 5-year STNK renewal + new plates
    :class:`~adapters.samsat.native.PermohonanPerpanjanganLimaTahunan` ->
    :class:`~adapters.samsat.native.HasilPerpanjanganLimaTahunan`.
``POST /api/v1/bbnkb/balik-nama`` -- ownership transfer of a used vehicle (BBN-KB)
    :class:`~adapters.samsat.native.PermohonanBalikNama` ->
    :class:`~adapters.samsat.native.HasilBalikNama`.
``POST /api/v1/stnk/penggantian`` -- replacement of a lost or damaged STNK
    :class:`~adapters.samsat.native.PermohonanPenggantianStnk` ->
    :class:`~adapters.samsat.native.HasilPenggantianStnk`.
``POST /api/v1/mutasi/keluar`` -- mutation out to another province (cabut berkas)
    :class:`~adapters.samsat.native.PermohonanMutasiKeluar` ->
    :class:`~adapters.samsat.native.HasilMutasiKeluar`.
``POST /api/v1/mutasi/masuk`` -- mutation in from another province (new plates here)
    :class:`~adapters.samsat.native.PermohonanMutasiMasuk` ->
    :class:`~adapters.samsat.native.HasilMutasiMasuk`.

Simulated register and business rules (deterministic, so tests can aim at them):

* **Unregistered plates**: a plate whose serial (the number in the middle) is above
  9000 -- 9001..9999 -- is not in the register: 404 ``NOPOL_TIDAK_TERDAFTAR`` (all
  operations).
* **Owner mismatch**: a NIK ending in ``"99"`` is not the vehicle's registered owner:
  409 ``NIK_TIDAK_SESUAI`` (``nik_pemilik`` of the annual and the 5-year operations,
  ``nik_pemilik_lama`` -- the seller -- of a transfer).
* **Register record**: each registered plate has one BPKB number, chassis number and
  engine number (:func:`~adapters.sdk.testing.registers.data_register`, also served
  at ``GET /_sim/register/{nopol}`` for people trying the hub by hand).

  - A ``no_bpkb`` that is not the plate's: 409 ``BPKB_TIDAK_SESUAI`` (a copied or
    another vehicle's BPKB; the original must be shown).
  - A physical check (``cek_fisik``) whose chassis or engine number differs from the
    register: 409 ``CEK_FISIK_TIDAK_SESUAI`` (a rubbing that does not match the papers).
* **Transfer rules**: a sale receipt without the Rp10,000 stamp duty (``kwitansi.
  bermeterai`` false): 422 ``KWITANSI_TANPA_METERAI``; a transfer to the registered
  owner themself (``nik_pemilik_baru`` = ``nik_pemilik_lama``): 409
  ``PEMILIK_BARU_SAMA``.
* **Replacement rules**: a lost STNK (``alasan`` HILANG) without ``no_laporan_polisi``:
  422 ``LAPORAN_KEHILANGAN_WAJIB``. The replacement keeps the validity of the STNK it
  replaces, derived from the plate (1-4 years ahead [I]); new STNK Rp100,000 /
  Rp200,000 (PP 76/2020).
* **Mutation rules**: a mutation out to Sumatera Barat itself (``kode_provinsi_tujuan``
  13): 409 ``MUTASI_DALAM_PROVINSI``; the mutation letter costs Rp150,000 / Rp250,000
  (PP 60/2016) and the file is ready ``mutasi_working_days`` working days later (knob,
  default 3: "1-3 days" [I]).
* **Mutation in**: from Sumatera Barat itself (``kode_provinsi_asal`` 13): 409
  ``MUTASI_DALAM_PROVINSI``; a mutation letter not shaped ``MTS/<origin>-13/...`` (the
  letter names the destination) is unknown: 409 ``SURAT_MUTASI_TIDAK_VALID``. The
  vehicle gets a ``BA`` plate derived from the key and pays this year's PKB, SWDKLLJ,
  a new STNK and plates and the BPKB (PP 60/2016 tariffs; that the full BPKB tariff
  applies is [I]).
* Checks run in this order: register (404), documents (BPKB, receipt), owners,
  physical check. Malformed input (bad JSON, wrong pattern, unknown field): 422
  ``DATA_TIDAK_VALID`` with a ``kesalahan`` list.

Fees (whole rupiah; domain.md 5.2 Samsat, PP 60/2016):

* SWDKLLJ Rp143,000 (MOBIL) / Rp35,000 (MOTOR); annual endorsement Rp50,000 /
  Rp25,000; new STNK Rp200,000 / Rp100,000; new plates (TNKB) Rp100,000 / Rp60,000;
  new BPKB Rp375,000 / Rp225,000.
* PKB is a stand-in derived from a hash of the plate: Rp1,000,000..5,000,000 for cars,
  Rp150,000..600,000 for motorcycles, in whole thousands (the real PKB is a provincial
  % of the vehicle's value, not verified for Sumbar).
* No BBNKB on a transfer: since 5 January 2025 BBNKB is levied only on the first
  transfer of a vehicle (a new one), so the ownership transfer of a used vehicle pays
  none (UU 1/2022 on central-regional fiscal relations (HKPD) art. 12(1); PP 35/2023).
  The breakdown keeps its ``bbnkb`` row, at 0.
* The 5-year renewal charges that year's PKB + SWDKLLJ + new STNK + new plates; a
  transfer charges PKB + SWDKLLJ + new BPKB + new STNK + new plates (Jasa Raharja's
  SWDKLLJ is part of the transfer flow, domain.md 5.4 F1).
* ``kode_bayar`` is the payment code of the province's regional-tax system (PKB is a
  regional tax paid through the province's own channels, not a SIMPONI billing code):
  15 digits starting with Sumatera Barat's province code 13, stable per key and plate
  [I: the real code's shape is set by each province and was not verified].

Dates are local (WIB) because Samsat counters work on local days: the annual
endorsement is valid one year, a new STNK five years (29 Feb -> 28 Feb), the new
plate shows that month/year as ``MM.YY``; a transfer's BPKB is estimated
``bpkb_working_days`` working days after the transfer (knob, default 14: "days to
weeks" at Polda [S/I]), counted on the hub's working-day calendar (weekends, national
holidays and cuti bersama skipped).

Idempotency and faults: the scaffold's pipeline (gate, ``Idempotency-Key`` 400, body
422, replay with ``Idempotent-Replayed: true`` / 409 ``KUNCI_SUDAH_DIPAKAI``,
``daily_quota`` per WIB day 429 ``KUOTA_HABIS`` + ``Retry-After`` until midnight,
business rules, apply, then a lost reply 504 ``WAKTU_HABIS`` or a garbled one: an
HTML page with a 200). Knobs: :class:`SamsatKnobs` = the common ones +
``bpkb_working_days`` and ``error_status`` (how ``error_rate`` fails: 503
``SISTEM_SIBUK`` + ``Retry-After: 1``, or a bare 500 ``GALAT_INTERNAL``). Control
plane: the scaffold's ``/_sim/health``, ``/_sim/ledger`` (entries carry ``subject`` =
the plate), ``/_sim/knobs``, plus ``/_sim/register/{nopol}``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final, Literal

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from adapters.samsat import native
from adapters.sdk import testing as sim
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.testing.clock import WIB
from adapters.sdk.testing.registers import DataRegister, data_register

__all__ = ["WIB", "DataRegister", "SamsatKnobs", "create_app", "data_register", "from_options"]

#: Names of the operations as recorded in the ledger.
OPERASI_PENGESAHAN: Final[str] = "PKB_PENGESAHAN"
OPERASI_PERPANJANGAN: Final[str] = "STNK_LIMA_TAHUNAN"
OPERASI_BALIK_NAMA: Final[str] = "BBNKB_BALIK_NAMA"
OPERASI_PENGGANTIAN: Final[str] = "STNK_PENGGANTIAN"
OPERASI_MUTASI_KELUAR: Final[str] = "MUTASI_KELUAR"
OPERASI_MUTASI_MASUK: Final[str] = "MUTASI_MASUK"

#: Longest idempotency key accepted; the hub's step ids are far shorter.
MAX_PANJANG_KEY: Final[int] = 200

#: Kemendagri code of the province whose Samsat this is (Sumatera Barat).
KODE_PROVINSI: Final[str] = "13"

#: Stand-in PKB ranges per vehicle class, rupiah, inclusive, step 1,000.
RENTANG_PKB: Final[dict[native.JenisKendaraan, tuple[int, int]]] = {
    native.JenisKendaraan.MOBIL: (1_000_000, 5_000_000),
    native.JenisKendaraan.MOTOR: (150_000, 600_000),
}

_POLA_NOPOL: Final[re.Pattern[str]] = re.compile(native.POLA_NOPOL)


class SamsatKnobs(sim.Knobs):
    """The toolkit's common fault knobs plus Samsat's own."""

    bpkb_working_days: int = Field(
        default=14, ge=1, le=120, description="Working days until a transferred vehicle's new BPKB is ready at Polda."
    )
    mutasi_working_days: int = Field(default=3, ge=1, le=30, description="Working days until a mutation's released file can be collected.")
    error_status: Literal[500, 503] = Field(
        default=503,
        description="How error_rate fails: 503 SISTEM_SIBUK with Retry-After, or a bare 500 GALAT_INTERNAL (a crashed backend).",
    )


# ------------------------------------------------------------------ business rules


def hitung_pkb(nopol: str, jenis: native.JenisKendaraan) -> int:
    """Deterministic stand-in PKB for a plate: same plate, same tax, on every run."""
    lo, hi = RENTANG_PKB[jenis]
    return lo + (sim.stable_int("pkb", nopol) % ((hi - lo) // 1000 + 1)) * 1000


def kode_bayar_untuk(key: str, nopol: str) -> str:
    """The regional-tax payment code: province code + 13 digits, stable per key and plate [I]."""
    return KODE_PROVINSI + sim.stable_digits("kode-bayar", key, nopol, length=13)


def no_transaksi(today: date, sequence: int) -> str:
    return f"SMS-BA-{today:%Y%m%d}-{sequence:06d}"


def _register(call: sim.Call[Any]) -> DataRegister:
    record = data_register(call.payload.nopol)
    if record is None:
        raise sim.Refusal(native.KodeError.NOPOL_TIDAK_TERDAFTAR, f"Nomor polisi {call.payload.nopol} tidak terdaftar.", status=404)
    return record


def wajib_terdaftar(call: sim.Call[Any]) -> None:
    _register(call)


def _wajib_pemilik(nik: str, siapa: str) -> None:
    if nik.endswith("99"):  # the simulated register's owner is never a NIK ending in 99
        raise sim.Refusal(native.KodeError.NIK_TIDAK_SESUAI, f"{siapa} tidak sesuai dengan pemilik kendaraan yang terdaftar.", status=409)


def wajib_pemilik(call: sim.Call[Any]) -> None:
    _wajib_pemilik(call.payload.nik_pemilik, "NIK")


def wajib_penjual_pemilik(call: sim.Call[native.PermohonanBalikNama]) -> None:
    _wajib_pemilik(call.payload.nik_pemilik_lama, "NIK pemilik lama")


def wajib_bpkb(call: sim.Call[Any]) -> None:
    if call.payload.no_bpkb != _register(call).no_bpkb:
        raise sim.Refusal(native.KodeError.BPKB_TIDAK_SESUAI, "Nomor BPKB tidak sesuai dengan data registrasi kendaraan.", status=409)


def wajib_cek_fisik(call: sim.Call[Any]) -> None:
    record, cek = _register(call), call.payload.cek_fisik
    beda = [
        nama
        for nama, dilihat, terdaftar in (
            ("nomor rangka", cek.nomor_rangka, record.nomor_rangka),
            ("nomor mesin", cek.nomor_mesin, record.nomor_mesin),
        )
        if dilihat != terdaftar
    ]
    if beda:
        raise sim.Refusal(
            native.KodeError.CEK_FISIK_TIDAK_SESUAI, f"Hasil cek fisik tidak sesuai registrasi: {', '.join(beda)}.", status=409
        )


def wajib_meterai(call: sim.Call[native.PermohonanBalikNama]) -> None:
    if not call.payload.kwitansi.bermeterai:
        raise sim.Refusal(native.KodeError.KWITANSI_TANPA_METERAI, "Kwitansi jual beli wajib bermeterai Rp10.000.", status=422)


def wajib_pemilik_baru_lain(call: sim.Call[native.PermohonanBalikNama]) -> None:
    if call.payload.nik_pemilik_baru == call.payload.nik_pemilik_lama:
        raise sim.Refusal(native.KodeError.PEMILIK_BARU_SAMA, "Pemilik baru sama dengan pemilik terdaftar.", status=409)


def _tagihan(call: sim.Call[Any], sequence: int, total: int, *, nopol_tagihan: str | None = None) -> dict[str, Any]:
    """The fields of every success reply (native ``_Tagihan``): the bill is for the
    plate asked, unless the vehicle gets a new one (``nopol_tagihan``)."""
    nopol = call.payload.nopol
    return {
        "nopol": nopol,
        "kode_bayar": kode_bayar_untuk(_key(call), nopol_tagihan or nopol),
        "total_bayar": total,
        "no_transaksi": no_transaksi(call.today, sequence),
    }


def _surat_baru(nopol: str, jenis: native.JenisKendaraan) -> dict[str, int]:
    """The year's tax of ``nopol`` and the fees of a new STNK and new plates (native ``_RincianSuratBaru``)."""
    tarif = native.TARIF[jenis]
    return {"pkb": hitung_pkb(nopol, jenis), "swdkllj": tarif.swdkllj, "biaya_stnk": tarif.stnk, "biaya_tnkb": tarif.tnkb}


def _total(rincian: BaseModel) -> int:
    return sum(rincian.model_dump().values())


def buat_pengesahan(call: sim.Call[native.PermohonanPengesahan], sequence: int) -> dict[str, Any]:
    """Annual endorsement: fees, totals, validity and Samsat's own numbers."""
    p, today = call.payload, call.today
    tarif = native.TARIF[p.jenis_kendaraan]
    rincian = native.RincianBiaya(pkb=hitung_pkb(p.nopol, p.jenis_kendaraan), swdkllj=tarif.swdkllj, biaya_pengesahan=tarif.pengesahan)
    return native.HasilPengesahan(
        rincian=rincian,
        berlaku_sampai=sim.add_years(today, 1),
        tanggal_pengesahan=today,
        **_tagihan(call, sequence, _total(rincian)),
    ).model_dump(mode="json")


def buat_perpanjangan(call: sim.Call[native.PermohonanPerpanjanganLimaTahunan], sequence: int) -> dict[str, Any]:
    """5-year renewal: this year's PKB + SWDKLLJ, a new STNK for 5 years and new plates."""
    p, today = call.payload, call.today
    rincian = native.RincianPerpanjangan(**_surat_baru(p.nopol, p.jenis_kendaraan))
    berlaku = sim.add_years(today, 5)
    return native.HasilPerpanjanganLimaTahunan(
        rincian=rincian,
        stnk_berlaku_sampai=berlaku,
        masa_berlaku_tnkb=f"{berlaku:%m.%y}",
        tanggal_penetapan=today,
        **_tagihan(call, sequence, _total(rincian)),
    ).model_dump(mode="json")


def buat_balik_nama(call: sim.Call[native.PermohonanBalikNama], sequence: int) -> dict[str, Any]:
    """Ownership transfer: STNK in the new owner's name now, BPKB later at Polda; no BBNKB."""
    p, today, key = call.payload, call.today, _key(call)
    rincian = native.RincianBalikNama(
        bbnkb=0,  # BBNKB only on a first transfer since 5 Jan 2025 (UU 1/2022 art. 12(1))
        biaya_bpkb=native.TARIF[p.jenis_kendaraan].bpkb,
        **_surat_baru(p.nopol, p.jenis_kendaraan),
    )
    knobs = call.knobs
    assert isinstance(knobs, SamsatKnobs)
    return native.HasilBalikNama(
        rincian=rincian,
        no_stnk=sim.stable_digits("stnk", key, p.nopol, length=8),
        bpkb=native.ProsesBpkb(
            status=native.StatusBpkb.DIPROSES_POLDA,
            perkiraan_selesai=call.clock.add_working_days(today, knobs.bpkb_working_days),
            keterangan="BPKB atas nama pemilik baru sedang diproses di Polda; ambil dengan bukti pembayaran dan KTP.",
        ),
        tanggal_penetapan=today,
        **_tagihan(call, sequence, _total(rincian)),
    ).model_dump(mode="json")


def wajib_laporan_bila_hilang(call: sim.Call[native.PermohonanPenggantianStnk]) -> None:
    p = call.payload
    if p.alasan is native.AlasanPenggantian.HILANG and p.no_laporan_polisi is None:
        raise sim.Refusal(
            native.KodeError.LAPORAN_KEHILANGAN_WAJIB, "STNK hilang wajib dilampiri surat tanda lapor kehilangan dari Polri.", status=422
        )


def wajib_provinsi_lain(call: sim.Call[native.PermohonanMutasiKeluar]) -> None:
    if call.payload.kode_provinsi_tujuan == KODE_PROVINSI:
        raise sim.Refusal(native.KodeError.MUTASI_DALAM_PROVINSI, "Provinsi tujuan mutasi sama dengan provinsi asal.", status=409)


def buat_penggantian(call: sim.Call[native.PermohonanPenggantianStnk], sequence: int) -> sim.Produced:
    """A replacement STNK: the new STNK fee only, valid as the STNK it replaces [I]. The
    ledger entry keeps which police report it was filed with (visible on /_sim/ledger)."""
    p, today, key = call.payload, call.today, _key(call)
    biaya = native.TARIF[p.jenis_kendaraan].stnk
    hasil = native.HasilPenggantianStnk(
        biaya_stnk=biaya,
        no_stnk=sim.stable_digits("stnk", key, p.nopol, length=8),
        stnk_berlaku_sampai=sim.add_years(today, 1 + sim.stable_int("masa-stnk", p.nopol) % 4),
        tanggal_penetapan=today,
        **_tagihan(call, sequence, biaya),
    )
    return sim.Produced(hasil.model_dump(mode="json"), {"alasan": p.alasan.value, "no_laporan_polisi": p.no_laporan_polisi})


def buat_mutasi_keluar(call: sim.Call[native.PermohonanMutasiKeluar], sequence: int) -> dict[str, Any]:
    """The mutation letter and the day the released file can be collected."""
    p, today, knobs = call.payload, call.today, call.knobs
    assert isinstance(knobs, SamsatKnobs)
    biaya = native.TARIF[p.jenis_kendaraan].mutasi
    return native.HasilMutasiKeluar(
        biaya_mutasi=biaya,
        no_surat_mutasi=f"MTS/{KODE_PROVINSI}-{p.kode_provinsi_tujuan}/{sequence:05d}/{today:%Y}",
        kode_provinsi_tujuan=p.kode_provinsi_tujuan,
        berkas_siap=call.clock.add_working_days(today, knobs.mutasi_working_days),
        tanggal_penetapan=today,
        **_tagihan(call, sequence, biaya),
    ).model_dump(mode="json")


def wajib_surat_mutasi(call: sim.Call[native.PermohonanMutasiMasuk]) -> None:
    p = call.payload
    if p.kode_provinsi_asal == KODE_PROVINSI:
        raise sim.Refusal(native.KodeError.MUTASI_DALAM_PROVINSI, "Provinsi asal mutasi sama dengan provinsi tujuan.", status=409)
    if not p.no_surat_mutasi.startswith(f"MTS/{p.kode_provinsi_asal}-{KODE_PROVINSI}/"):
        raise sim.Refusal(native.KodeError.SURAT_MUTASI_TIDAK_VALID, "Surat mutasi tidak dikenal untuk Samsat tujuan ini.", status=409)


def nopol_baru(key: str) -> str:
    """The new ``BA`` plate of a vehicle registered here: serial 1-8999, series two letters [I]."""
    h = sim.stable_int("nopol-baru", key)
    return f"BA {1 + h % 8999} {'ABCDEFGHJKLMNPRSTUVWXYZ'[(h >> 16) % 23]}{'ABCDEFGHJKLMNPRSTUVWXYZ'[(h >> 24) % 23]}"


def buat_mutasi_masuk(call: sim.Call[native.PermohonanMutasiMasuk], sequence: int) -> dict[str, Any]:
    """Registration here: new plates, this year's PKB and the registration fees."""
    p, today, key = call.payload, call.today, _key(call)
    baru = nopol_baru(key)
    rincian = native.RincianMutasiMasuk(biaya_bpkb=native.TARIF[p.jenis_kendaraan].bpkb, **_surat_baru(baru, p.jenis_kendaraan))
    return native.HasilMutasiMasuk(
        nopol_baru=baru,
        rincian=rincian,
        no_stnk=sim.stable_digits("stnk", key, baru, length=8),
        tanggal_penetapan=today,
        **_tagihan(call, sequence, _total(rincian), nopol_tagihan=baru),
    ).model_dump(mode="json")


def _key(call: sim.Call[Any]) -> str:
    assert call.key is not None
    return call.key


def _nopol(permohonan: Any) -> str:
    return str(permohonan.nopol)  # the plate: never a NIK


OPERASI: Final[tuple[sim.Operation[Any], ...]] = (
    sim.Operation(name=OPERASI_PENGESAHAN, path=native.PATH_PENGESAHAN, model=native.PermohonanPengesahan, subject=_nopol,
                  checks=(wajib_terdaftar, wajib_pemilik), produce=buat_pengesahan, summary="Annual PKB payment + STNK endorsement"),
    sim.Operation(name=OPERASI_PERPANJANGAN, path=native.PATH_PERPANJANGAN_LIMA_TAHUNAN, model=native.PermohonanPerpanjanganLimaTahunan,
                  subject=_nopol, checks=(wajib_terdaftar, wajib_bpkb, wajib_pemilik, wajib_cek_fisik), produce=buat_perpanjangan,
                  summary="5-year STNK renewal + new plates (TNKB)"),
    sim.Operation(name=OPERASI_BALIK_NAMA, path=native.PATH_BALIK_NAMA, model=native.PermohonanBalikNama, subject=_nopol,
                  checks=(wajib_terdaftar, wajib_bpkb, wajib_meterai, wajib_penjual_pemilik, wajib_pemilik_baru_lain, wajib_cek_fisik),
                  produce=buat_balik_nama, summary="Ownership transfer of a used vehicle (BBN-KB)"),
    sim.Operation(name=OPERASI_PENGGANTIAN, path=native.PATH_PENGGANTIAN_STNK, model=native.PermohonanPenggantianStnk, subject=_nopol,
                  checks=(wajib_terdaftar, wajib_bpkb, wajib_laporan_bila_hilang, wajib_pemilik, wajib_cek_fisik),
                  produce=buat_penggantian, summary="Replacement of a lost or damaged STNK"),
    sim.Operation(name=OPERASI_MUTASI_KELUAR, path=native.PATH_MUTASI_KELUAR, model=native.PermohonanMutasiKeluar, subject=_nopol,
                  checks=(wajib_terdaftar, wajib_bpkb, wajib_provinsi_lain, wajib_pemilik, wajib_cek_fisik),
                  produce=buat_mutasi_keluar, summary="Mutation out to another province (cabut berkas)"),
    sim.Operation(name=OPERASI_MUTASI_MASUK, path=native.PATH_MUTASI_MASUK, model=native.PermohonanMutasiMasuk, subject=_nopol,
                  checks=(wajib_terdaftar, wajib_bpkb, wajib_surat_mutasi, wajib_pemilik, wajib_cek_fisik),
                  produce=buat_mutasi_masuk, summary="Mutation in from another province (new plates here)"),
)  # fmt: skip


# ------------------------------------------------------------------ the protocol


class DialekSamsat(sim.JsonDialect):
    """Samsat speaks JSON; every error is a :class:`GalatSamsat`."""

    key = sim.KeyRule(native.HEADER_IDEMPOTENCY_KEY, max_length=MAX_PANJANG_KEY)
    DOWN = sim.Say(503, native.KodeError.SISTEM_TIDAK_TERSEDIA, "Sistem Samsat sedang tidak tersedia.")
    BUSY = sim.Say(503, native.KodeError.SISTEM_SIBUK, "Sistem sedang sibuk, silakan coba lagi.", retry_after=1)
    CRASHED = sim.Say(500, native.KodeError.GALAT_INTERNAL, "Terjadi kesalahan internal.")
    KEY_MISSING = sim.Say(400, native.KodeError.IDEMPOTENCY_KEY_WAJIB, "Header Idempotency-Key wajib diisi.")
    KEY_INVALID = sim.Say(
        400,
        native.KodeError.IDEMPOTENCY_KEY_TIDAK_VALID,
        f"Idempotency-Key harus berupa teks tercetak, maksimal {MAX_PANJANG_KEY} karakter.",
    )
    MALFORMED = sim.Say(422, native.KodeError.DATA_TIDAK_VALID, "Data permohonan tidak valid.")
    CONFLICT = sim.Say(409, native.KodeError.KUNCI_SUDAH_DIPAKAI, "Idempotency-Key sudah dipakai untuk permohonan lain.")
    QUOTA = sim.Say(429, native.KodeError.KUOTA_HABIS, "Kuota permohonan hari ini sudah habis.")
    DROPPED = sim.Say(504, native.KodeError.WAKTU_HABIS, "Batas waktu habis sebelum balasan terkirim.")
    HTTP_ERRORS = (native.KodeError.TIDAK_DITEMUKAN, native.KodeError.METODE_TIDAK_DIIZINKAN, native.KodeError.GALAT_INTERNAL)
    REPLAY_HEADER = native.HEADER_IDEMPOTENT_REPLAYED
    #: A gateway's session page with a 200, not Samsat's JSON.
    GARBLED_PAGE = (
        "<!DOCTYPE html><html><head><title>e-Samsat</title></head>"
        "<body><h1>Sesi Anda telah berakhir</h1><p>Silakan masuk kembali.</p></body></html>"
    )

    def error_body(self, code: str, message: str, details: list[str] | None, *, refused: bool) -> dict[str, Any]:
        return native.GalatSamsat(kode_error=native.KodeError(code), pesan=message, kesalahan=details).model_dump(
            mode="json", exclude_none=True
        )

    def busy(self) -> Response:
        knobs = self.runtime.knobs
        crashed = isinstance(knobs, SamsatKnobs) and knobs.error_status == 500
        return self.error(self.CRASHED) if crashed else super().busy()


def create_app(knobs: SamsatKnobs | None = None, *, ledger_path: str = ":memory:", clock: sim.Clock | None = None) -> FastAPI:
    """A Samsat simulator with its own ledger, knobs and random.

    ``clock`` (an aware-datetime factory) is for tests that need fixed dates or to
    cross a day boundary; by default the system clock is used, in WIB.
    ``app.state.simulator`` is the scaffold (knobs, ledger, clock)."""
    runtime = sim.SimulatorRuntime.open(knobs or SamsatKnobs(), ledger_path=ledger_path, clock=clock)
    dialect = DialekSamsat(runtime)
    simulator = sim.Simulator(
        runtime,
        dialect,
        OPERASI,
        title="Samsat backend simulator",
        description="Native Samsat API (annual PKB + STNK, 5-year STNK + plates, BBN-KB, STNK replacement, mutation out) for mpp-hub adapter tests.",
        version="2.0.0",
    )

    @simulator.app.get("/_sim/register/{nopol}")
    async def register(nopol: str) -> Response:
        """The simulated register record of a plate (control plane, for people and tests)."""
        if not _POLA_NOPOL.fullmatch(nopol):
            return dialect.error(dialect.MALFORMED, message=f"Nomor polisi harus seperti 'BA 1234 LZ' ({native.POLA_NOPOL}).")
        record = data_register(nopol)
        if record is None:
            return dialect.error(sim.Say(404, native.KodeError.NOPOL_TIDAK_TERDAFTAR, f"Nomor polisi {nopol} tidak terdaftar."))
        return JSONResponse(
            {"nopol": record.nopol, "no_bpkb": record.no_bpkb, "nomor_rangka": record.nomor_rangka, "nomor_mesin": record.nomor_mesin}
        )

    return simulator.app


def from_options(options: SimulatorOptions) -> FastAPI:
    """The app `mpp-hub simulator samsat` (and the plug-in) starts; Samsat's native API has
    no shared secrets, so ``options.secrets`` is unused."""
    return create_app(ledger_path=options.ledger_path)
