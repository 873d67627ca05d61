"""A stand-in for BPJPH's SIHALAL partner API: REST/JSON behind an API key, status polled.

Why it exists: the BPJPH adapter must be developed and fault-tested against something
that behaves like the real, foreign system -- its Indonesian protocol
(``adapters.bpjph.native``), its response wrapper and API key, an application that
only advances over days and has to be polled, a fee that can go unpaid, documents
returned for correction, and its bad days. Talking to the real SIHALAL from tests is
neither possible nor desirable.

It imports nothing from ``hub``; the request pipeline, knobs, apply-once ledger, clock
and working-day calendar come from the SDK's simulator scaffold
(:mod:`adapters.sdk.testing.scaffold`) like every simulator's.

Native API (wire format in :mod:`adapters.bpjph.native`)
========================================================

``POST /api/sihalal/v1/pengajuan``
    Registers an application, at most once per ``Idempotency-Key`` (the hub's step
    id): a repeat with the same body (compared after parsing) gets the stored 201
    receipt with ``Idempotent-Replayed: true``; another body is ``409 KUNCI_BENTROK``.
``GET /api/sihalal/v1/pengajuan/{nomor_daftar}``
    Reports where the application is. **Polls drive time**: after
    ``polls_per_stage`` polls in a stage the application moves on, so a stage is
    reported by ``polls_per_stage`` consecutive polls (the one that entered it
    included):

    * self-declare: ``DIAJUKAN`` -> ``VERIFIKASI`` -> ``PENDAMPINGAN_PPH`` ->
      ``SIDANG_FATWA`` -> ``TERBIT``;
    * regular: ``DIAJUKAN`` -> ``VERIFIKASI`` -> ``MENUNGGU_PEMBAYARAN`` ->
      ``PEMERIKSAAN_LPH`` -> ``SIDANG_FATWA`` -> ``TERBIT``.

Simulated business rules (deterministic, so tests can aim at them):

* **At submission** (refused synchronously with 422, nothing recorded, so a
  corrected retry with the same key can still apply), checked in this order:

  - a NIB ending in ``0000`` is not registered at OSS: ``NIB_TIDAK_DITEMUKAN``;
  - ``status_kswp`` ``TIDAK_VALID`` (DJP says the taxpayer is not compliant):
    ``STATUS_WP_TIDAK_VALID``. Without a KSWP answer the application is taken (a
    stand-alone request; in the food-business flow the hub passes DJP's answer);
  - self-declare for a ``MENENGAH`` or ``BESAR`` business: ``SELF_DECLARE_TIDAK_BERHAK``
    (self-declare is for micro and small businesses [S:HALAL-SD]).
* **Documents returned** (``DIKEMBALIKAN``, at the end of ``VERIFIKASI``): an
  ingredient mentioning ``perisa`` (flavouring, a halal-critical ingredient) must cite
  its own halal certificate number (``ID`` + 17 digits, e.g. ``perisa ayam
  (ID13110000123450124)``); each one that does not is a ``catatan_perbaikan`` entry
  naming ``produk[i].bahan[j]``. The application then waits (polls do not move it).
* **Fee**: self-declare Rp0; regular per ``native.TARIF_REGULER`` (Rp300,000 micro and
  small, Rp2,500,000 medium, Rp5,000,000 large [I] within domain.md's Rp300k-5M). The
  billing code (15 digits starting with 8, stable per key) is payable for 7 days;
  with the ``unpaid`` knob (snapshotted per application) it is never paid and the
  application ends ``KEDALUWARSA`` (``BILLING_KEDALUWARSA``) after
  ``polls_per_stage`` polls of ``MENUNGGU_PEMBAYARAN``.
* **Fatwa** (end of ``SIDANG_FATWA``): a product with a non-halal ingredient (the
  word ``babi``, ``lard``, ``khamr`` or ``bacon``) is refused: ``DITOLAK``
  ``BAHAN_TIDAK_HALAL`` naming it.
* **Issued** (``TERBIT``): a certificate number ``ID13`` + 15 digits (13 = Sumatera
  Barat [I]) stable per key.
* **Virtual calendar**: dates derive from the submission day D (local WIB), so
  answers are the same whenever they are polled: billing due D + 7 days, paid on
  D + 1, certificate on D + 12 (self-declare) / D + 21 (regular) working days of the
  hub's working-day calendar (weekends, national holidays and cuti bersama skipped).

Knobs (``PUT /_sim/knobs``), applied by the scaffold's pipeline in this order: ``down``
(503 ``LAYANAN_TIDAK_TERSEDIA``), ``latency_ms``, ``error_rate`` (503
``SISTEM_SIBUK`` + ``Retry-After: 1``, nothing applied), then the API key (401), the
idempotency key (400), body validation (422), ledger replay/conflict (409),
``daily_quota`` per WIB day (429 ``KUOTA_HARIAN_HABIS``), the submission rules (422),
apply; then ``drop_reply_after_apply`` (504 ``WAKTU_HABIS``: the application was
registered, or the poll counted) or ``garble_rate`` (HTTP 200/201 with a body that is
not the protocol). Replays never lose or garble their reply. BPJPH's own:
``polls_per_stage`` (default 2), ``unpaid``, and ``forced_status`` (the status answer
reports this word instead: a release that introduced a status the adapter has never
seen).

Control plane (never affected by the knobs): the toolkit's ``/_sim/health``,
``/_sim/ledger`` (entries carry ``subject`` = route/scale, never personal data) and
``/_sim/knobs``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import Field

from adapters.bpjph import DEV_API_KEY, native
from adapters.sdk import testing as sim
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.testing.clock import WIB

__all__ = ["DEV_API_KEY", "SECRET_NAME", "WIB", "BpjphKnobs", "create_app", "from_options"]

SECRET_NAME: Final[str] = "api_key"

OPERASI_PENGAJUAN: Final[str] = "PENGAJUAN_SERTIFIKASI_HALAL"
OPERASI_STATUS: Final[str] = "STATUS_PENGAJUAN"
MAX_PANJANG_KEY: Final[int] = 200

ALUR: Final[dict[native.JenisPengajuan, list[native.StatusPengajuan]]] = {
    native.JenisPengajuan.SELF_DECLARE: [
        native.StatusPengajuan.DIAJUKAN,
        native.StatusPengajuan.VERIFIKASI,
        native.StatusPengajuan.PENDAMPINGAN_PPH,
        native.StatusPengajuan.SIDANG_FATWA,
        native.StatusPengajuan.TERBIT,
    ],
    native.JenisPengajuan.REGULER: [
        native.StatusPengajuan.DIAJUKAN,
        native.StatusPengajuan.VERIFIKASI,
        native.StatusPengajuan.MENUNGGU_PEMBAYARAN,
        native.StatusPengajuan.PEMERIKSAAN_LPH,
        native.StatusPengajuan.SIDANG_FATWA,
        native.StatusPengajuan.TERBIT,
    ],
}

_KETERANGAN: Final[dict[native.StatusPengajuan, str]] = {
    native.StatusPengajuan.DIAJUKAN: "Pengajuan diterima dan menunggu verifikasi dokumen.",
    native.StatusPengajuan.VERIFIKASI: "Dokumen pengajuan sedang diverifikasi BPJPH.",
    native.StatusPengajuan.PENDAMPINGAN_PPH: "Verifikasi dan validasi oleh Pendamping Proses Produk Halal.",
    native.StatusPengajuan.MENUNGGU_PEMBAYARAN: "Biaya sertifikasi telah ditetapkan; silakan bayar melalui kode billing.",
    native.StatusPengajuan.PEMERIKSAAN_LPH: "Pembayaran diterima; pemeriksaan oleh Lembaga Pemeriksa Halal.",
    native.StatusPengajuan.SIDANG_FATWA: "Menunggu sidang fatwa penetapan kehalalan produk.",
    native.StatusPengajuan.TERBIT: "Sertifikat halal telah terbit.",
    native.StatusPengajuan.DIKEMBALIKAN: "Dokumen pengajuan dikembalikan untuk diperbaiki; ajukan kembali setelah perbaikan.",
    native.StatusPengajuan.DITOLAK: "Pengajuan ditolak.",
    native.StatusPengajuan.KEDALUWARSA: "Pengajuan kedaluwarsa.",
}

_NOMOR_SERTIFIKAT: Final = re.compile(r"ID[0-9]{17}")
_PERISA: Final = re.compile(r"\bperisa\b", re.IGNORECASE)
_TIDAK_HALAL: Final = re.compile(r"\b(babi|lard|khamr|bacon)\b", re.IGNORECASE)


class BpjphKnobs(sim.Knobs):
    """The SDK's common knobs plus BPJPH's own (see the module docstring)."""

    polls_per_stage: int = Field(default=2, ge=1, le=1000, description="Polls each stage of an application lasts.")
    unpaid: bool = Field(default=False, description="Regular applications submitted now never pay their fee.")
    forced_status: str | None = Field(default=None, min_length=1, max_length=40, description="The status answer reports this word instead.")


# ------------------------------------------------------------------ business rules


def nib_terdaftar(nib: str) -> bool:
    """Simulated OSS register: NIBs ending in 0000 were never issued."""
    return not nib.endswith("0000")


def biaya(jenis: native.JenisPengajuan, skala: native.SkalaUsaha) -> int:
    return 0 if jenis is native.JenisPengajuan.SELF_DECLARE else native.TARIF_REGULER[skala]


def catatan_perbaikan(permohonan: native.PengajuanSertifikasi) -> list[dict[str, str]]:
    """What verification returns: flavourings that do not cite their halal certificate."""
    catatan = []
    for i, produk in enumerate(permohonan.produk):
        for j, bahan in enumerate(produk.bahan):
            if _PERISA.search(bahan) and not _NOMOR_SERTIFIKAT.search(bahan):
                catatan.append(
                    {
                        "bagian": f"produk[{i}].bahan[{j}]",
                        "keterangan": f"Bahan '{bahan}' pada produk '{produk.nama_produk}' adalah bahan kritis: "
                        "cantumkan nomor sertifikat halal bahan tersebut (ID + 17 digit).",
                    }
                )
    return catatan


def bahan_tidak_halal(permohonan: native.PengajuanSertifikasi) -> str | None:
    """The first non-halal ingredient, named for the fatwa's refusal, or None."""
    for produk in permohonan.produk:
        for bahan in produk.bahan:
            if _TIDAK_HALAL.search(bahan):
                return f"{bahan} (produk '{produk.nama_produk}')"
    return None


def nomor_sertifikat(key: str) -> str:
    """``ID`` + 17 digits: ``13`` (Sumatera Barat) + 15 digits [I]."""
    return "ID13" + sim.stable_digits("sertifikat", key, length=15)


def nomor_daftar(jenis: native.JenisPengajuan, urutan: int, hari_ini: date) -> str:
    return f"SH{hari_ini.year}-{1 if jenis is native.JenisPengajuan.SELF_DECLARE else 2}-{urutan % 1_000_000:06d}"


def majukan(keadaan: dict[str, Any], polls_per_stage: int) -> dict[str, Any]:
    """One poll of an application: count it, and move to the next stage when due."""
    tahap = native.StatusPengajuan(keadaan["tahap"])
    if tahap.akhir or tahap is native.StatusPengajuan.DIKEMBALIKAN:  # the latter waits for a corrected submission
        return keadaan
    baru = {**keadaan, "cek": int(keadaan["cek"]) + 1, "total_cek": int(keadaan["total_cek"]) + 1}
    if baru["cek"] < polls_per_stage:
        return baru
    alur = ALUR[native.JenisPengajuan(keadaan["jenis"])]
    alasan: native.KodePenolakan | None = None
    if tahap is native.StatusPengajuan.VERIFIKASI and keadaan["catatan"]:
        berikut = native.StatusPengajuan.DIKEMBALIKAN
    elif tahap is native.StatusPengajuan.MENUNGGU_PEMBAYARAN and keadaan["tidak_bayar"]:
        berikut, alasan = native.StatusPengajuan.KEDALUWARSA, native.KodePenolakan.BILLING_KEDALUWARSA
    elif tahap is native.StatusPengajuan.SIDANG_FATWA and keadaan["bahan_tidak_halal"]:
        berikut, alasan = native.StatusPengajuan.DITOLAK, native.KodePenolakan.BAHAN_TIDAK_HALAL
    else:
        berikut = alur[alur.index(tahap) + 1]
    baru.update(tahap=berikut.value, cek=0, alasan=alasan.value if alasan else None, tahap_sebelum=tahap.value)
    return baru


def status_untuk(key: str, keadaan: dict[str, Any], clock: sim.SimClock) -> native.StatusPengajuanHalal:
    """The status answer for an application's current state."""
    tahap = native.StatusPengajuan(keadaan["tahap"])
    jenis = native.JenisPengajuan(keadaan["jenis"])
    alur = ALUR[jenis]
    # How far along the normal path did it get? An early end keeps what it had reached.
    dicapai = alur.index(tahap if tahap in alur else native.StatusPengajuan(keadaan["tahap_sebelum"]))
    tanggal = date.fromisoformat(keadaan["tanggal"])
    isi: dict[str, Any] = {
        "nomor_daftar": keadaan["nomor_daftar"],
        "status": tahap.value,
        "jenis_pengajuan": jenis.value,
        "tanggal_pengajuan": tanggal,
        "keterangan": _KETERANGAN[tahap],
        "biaya": int(keadaan["biaya"]),
    }
    if jenis is native.JenisPengajuan.REGULER and dicapai >= alur.index(native.StatusPengajuan.MENUNGGU_PEMBAYARAN):
        dibayar = dicapai > alur.index(native.StatusPengajuan.MENUNGGU_PEMBAYARAN)
        isi["tagihan"] = {
            "kode_billing": sim.pnbp_billing_code(key),
            "jumlah": int(keadaan["biaya"]),
            "batas_bayar": tanggal + timedelta(days=native.HARI_BAYAR),
            "tanggal_bayar": tanggal + timedelta(days=1) if dibayar else None,
        }
    if tahap is native.StatusPengajuan.TERBIT:
        isi["sertifikat"] = {
            "nomor_sertifikat": nomor_sertifikat(key),
            "tanggal_terbit": clock.add_working_days(tanggal, native.HARI_KERJA_TERBIT[jenis.value]),
        }
    if tahap is native.StatusPengajuan.DIKEMBALIKAN:
        isi["catatan_perbaikan"] = keadaan["catatan"]
    if keadaan.get("alasan") == native.KodePenolakan.BAHAN_TIDAK_HALAL:
        isi["penolakan"] = {
            "kode": native.KodePenolakan.BAHAN_TIDAK_HALAL.value,
            "alasan": f"Sidang fatwa menetapkan produk tidak halal: mengandung {keadaan['bahan_tidak_halal']}.",
        }
    elif keadaan.get("alasan") == native.KodePenolakan.BILLING_KEDALUWARSA:
        isi["penolakan"] = {
            "kode": native.KodePenolakan.BILLING_KEDALUWARSA.value,
            "alasan": f"Biaya sertifikasi tidak dibayar dalam {native.HARI_BAYAR} hari.",
        }
    return native.StatusPengajuanHalal.model_validate(isi)


def periksa_pengajuan(call: sim.Call[native.PengajuanSertifikasi]) -> None:
    """The submission rules (module docstring), in order."""
    permohonan = call.payload
    if not nib_terdaftar(permohonan.nib):
        raise sim.Refusal(native.KodeGalat.NIB_TIDAK_DITEMUKAN, f"NIB {permohonan.nib} tidak terdaftar di OSS.")
    if permohonan.status_kswp is native.StatusWajibPajak.TIDAK_VALID:
        raise sim.Refusal(
            native.KodeGalat.STATUS_WP_TIDAK_VALID,
            "Status wajib pajak (KSWP) pelaku usaha TIDAK VALID; selesaikan kewajiban perpajakan di DJP sebelum mengajukan sertifikasi halal.",
        )
    if permohonan.jenis_pengajuan is native.JenisPengajuan.SELF_DECLARE and permohonan.skala_usaha not in (
        native.SkalaUsaha.MIKRO,
        native.SkalaUsaha.KECIL,
    ):
        raise sim.Refusal(
            native.KodeGalat.SELF_DECLARE_TIDAK_BERHAK, "Jalur self declare hanya untuk usaha mikro dan kecil; gunakan jalur reguler."
        )


def ajukan(call: sim.Call[native.PengajuanSertifikasi], urutan: int) -> sim.Produced:
    """The receipt, and the application's first stage and what its stages will find."""
    permohonan, hari_ini = call.payload, call.today
    jenis = permohonan.jenis_pengajuan
    knobs = call.knobs
    assert isinstance(knobs, BpjphKnobs)
    tanda = native.TandaTerimaPengajuan(
        nomor_daftar=nomor_daftar(jenis, urutan, hari_ini), jenis_pengajuan=jenis, tanggal_pengajuan=hari_ini
    )
    keadaan = {
        "nomor_daftar": tanda.nomor_daftar,
        "tahap": native.StatusPengajuan.DIAJUKAN.value,
        "tahap_sebelum": None,
        "cek": 0,
        "total_cek": 0,
        "jenis": jenis.value,
        "skala": permohonan.skala_usaha.value,
        "biaya": biaya(jenis, permohonan.skala_usaha),
        "tanggal": hari_ini.isoformat(),
        "catatan": catatan_perbaikan(permohonan),
        "bahan_tidak_halal": bahan_tidak_halal(permohonan),
        "tidak_bayar": knobs.unpaid and jenis is native.JenisPengajuan.REGULER,
        "alasan": None,
    }
    return sim.Produced(tanda.model_dump(mode="json"), keadaan)


class StatusPoll:
    """``GET .../pengajuan/{nomor_daftar}``: each poll moves the simulated time on."""

    def __init__(self, runtime: sim.SimulatorRuntime) -> None:
        self.runtime = runtime

    def __call__(self, call: sim.Call[str]) -> dict[str, Any]:
        ledger, nomor = self.runtime.ledger, call.payload
        entry = ledger.find_by_state("nomor_daftar", nomor)
        if entry is None:
            raise sim.Refusal(native.KodeGalat.PENGAJUAN_TIDAK_DITEMUKAN, f"Pengajuan {nomor} tidak ditemukan.", status=404)
        knobs = call.knobs
        assert isinstance(knobs, BpjphKnobs)
        keadaan = majukan(entry.state, knobs.polls_per_stage)
        ledger.update_state(entry.key, keadaan)
        data = status_untuk(entry.key, keadaan, call.clock).model_dump(mode="json", exclude_none=True)
        if knobs.forced_status:
            data["status"] = knobs.forced_status
        return data


def _nomor_dari_path(request: Request, _: bytes) -> str:
    return str(request.path_params["nomor_daftar"])


# ------------------------------------------------------------------ the protocol


class DialekSihalal(sim.ApiKeyDialect):
    """SIHALAL speaks JSON inside ``{"sukses": true, "data": ...}``; every error is a
    :class:`BalasanGalat`; every call needs the partner API key."""

    key = sim.KeyRule(native.HEADER_IDEMPOTENCY_KEY, max_length=MAX_PANJANG_KEY)
    DOWN = sim.Say(503, native.KodeGalat.LAYANAN_TIDAK_TERSEDIA, "Layanan SIHALAL sedang dalam pemeliharaan.")
    BUSY = sim.Say(503, native.KodeGalat.SISTEM_SIBUK, "Sistem sedang sibuk, silakan coba lagi.", retry_after=1)
    KEY_MISSING = KEY_INVALID = sim.Say(
        400,
        native.KodeGalat.IDEMPOTENCY_KEY_WAJIB,
        f"Header {native.HEADER_IDEMPOTENCY_KEY} wajib diisi (maksimal {MAX_PANJANG_KEY} karakter).",
    )
    MALFORMED = sim.Say(422, native.KodeGalat.DATA_TIDAK_VALID, "Data pengajuan tidak valid.")
    CONFLICT = sim.Say(409, native.KodeGalat.KUNCI_BENTROK, f"{native.HEADER_IDEMPOTENCY_KEY} sudah dipakai untuk pengajuan lain.")
    QUOTA = sim.Say(429, native.KodeGalat.KUOTA_HARIAN_HABIS, "Kuota pengajuan hari ini sudah habis.")
    DROPPED = sim.Say(504, native.KodeGalat.WAKTU_HABIS, "Batas waktu gateway habis.")
    API_KEY_HEADER = native.HEADER_API_KEY
    UNAUTHORIZED = sim.Say(401, native.KodeGalat.API_KEY_TIDAK_VALID, f"Header {native.HEADER_API_KEY} tidak ada atau tidak valid.")
    HTTP_ERRORS = (native.KodeGalat.TIDAK_DITEMUKAN, native.KodeGalat.METODE_TIDAK_DIIZINKAN, native.KodeGalat.GALAT_INTERNAL)
    REPLAY_HEADER = native.HEADER_REPLAYED
    #: The API gateway's login page instead of SIHALAL's JSON.
    GARBLED_PAGE = "<!DOCTYPE html><html><head><title>SIHALAL</title></head><body><h1>Sesi berakhir</h1></body></html>"

    def error_body(self, code: str, message: str, details: list[str] | None, *, refused: bool) -> dict[str, Any]:
        return native.BalasanGalat(galat=native.Galat(kode=native.KodeGalat(code), pesan=message, rincian=details)).model_dump(
            mode="json", exclude_none=True
        )

    def success(self, call: sim.Call[Any], body: dict[str, Any], *, replayed: bool) -> Response:
        return super().success(call, {"sukses": True, "data": body}, replayed=replayed)

    def garbled(self, call: sim.Call[Any], reply: Response) -> Response:
        """The gateway's page, or the JSON cut short."""
        if self.runtime.rng.randrange(2):
            return super().garbled(call, reply)
        return Response(bytes(reply.body)[:20], status_code=reply.status_code, media_type="application/json")


def create_app(
    knobs: BpjphKnobs | None = None,
    *,
    ledger_path: str = ":memory:",
    api_key: str = DEV_API_KEY,
    clock: sim.Clock | None = None,
) -> FastAPI:
    """Build a simulator app with its own knobs, random and ledger.

    ``api_key`` is the partner key it accepts (default: the hub's development key);
    ``clock`` (aware datetimes) lets tests fix "today"."""
    runtime = sim.SimulatorRuntime.open(knobs or BpjphKnobs(), ledger_path=ledger_path, clock=clock)
    # The ledger subject is the route and the scale, never the NIK or the business.
    operations = (
        sim.Operation(name=OPERASI_PENGAJUAN, path=native.PATH_PENGAJUAN, model=native.PengajuanSertifikasi, status=201,
                      subject=lambda p: f"{p.jenis_pengajuan.value}/{p.skala_usaha.value}", checks=(periksa_pengajuan,), produce=ajukan,
                      summary="Submit a halal certification application (applied once per Idempotency-Key)"),
        sim.Query(name=OPERASI_STATUS, path=native.PATH_PENGAJUAN + "/{nomor_daftar}", method="GET", read=_nomor_dari_path,
                  answer=StatusPoll(runtime), summary="Where an application is now (each poll moves the simulated time on)"),
    )  # fmt: skip
    simulator = sim.Simulator(
        runtime,
        DialekSihalal(runtime, api_key),
        operations,
        title="BPJPH SIHALAL simulator",
        description="Native SIHALAL partner API (halal certification: submit, poll status) for mpp-hub adapter tests.",
    )
    return simulator.app


def from_options(options: SimulatorOptions) -> FastAPI:
    """The app `mpp-hub simulator bpjph` (and the plug-in) starts: ``options.secrets["api_key"]``
    is the partner key it accepts; the hub passes the adapter's (``MPP_AGENCIES__BPJPH__API_KEY``)."""
    return create_app(ledger_path=options.ledger_path, api_key=options.secrets.get(SECRET_NAME, DEV_API_KEY))
