"""A stand-in for BPJPH's SIHALAL partner API: REST/JSON behind an API key, status polled.

Why it exists: the BPJPH adapter must be developed and fault-tested against something
that behaves like the real, foreign system -- its Indonesian protocol
(``adapters.bpjph.native``), its response wrapper and API key, an application that
only advances over days and has to be polled, a fee that can go unpaid, documents
returned for correction, and its bad days. Talking to the real SIHALAL from tests is
neither possible nor desirable.

It imports nothing from ``hub`` or ``schemas``; it uses the SDK's simulation toolkit
(knobs, apply-once ledger, control endpoints) like every simulator.

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
  D + 1, certificate on D + 12 (self-declare) / D + 21 (regular) working days.

Knobs (``PUT /_sim/knobs``), applied to native requests in this order: ``down``
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

import argparse
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Final

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapters.bpjph.native import (
    HARI_BAYAR,
    HARI_KERJA_TERBIT,
    HEADER_API_KEY,
    HEADER_IDEMPOTENCY_KEY,
    HEADER_REPLAYED,
    PATH_PENGAJUAN,
    BalasanGalat,
    Galat,
    JenisPengajuan,
    KodeGalat,
    KodePenolakan,
    PengajuanSertifikasi,
    SkalaUsaha,
    StatusPengajuan,
    StatusPengajuanHalal,
    StatusWajibPajak,
    TARIF_REGULER,
    TandaTerimaPengajuan,
)
from adapters.sdk.testing.simulation import Fault, Knobs, Ledger, Outcome, SimulatorRuntime, simulator_app

#: BPJPH's MPP counter in Bukittinggi works on Western Indonesia Time (UTC+7).
WIB: Final[timezone] = timezone(timedelta(hours=7), name="WIB")

#: Development API key shared with the hub's dev settings (MPP_AGENCIES__BPJPH__API_KEY).
DEV_API_KEY: Final[str] = "dev-bpjph-api-key"
SECRET_NAME: Final[str] = "api_key"

OPERASI_PENGAJUAN: Final[str] = "PENGAJUAN_SERTIFIKASI_HALAL"
MAX_PANJANG_KEY: Final[int] = 200

ALUR: Final[dict[JenisPengajuan, list[StatusPengajuan]]] = {
    JenisPengajuan.SELF_DECLARE: [
        StatusPengajuan.DIAJUKAN,
        StatusPengajuan.VERIFIKASI,
        StatusPengajuan.PENDAMPINGAN_PPH,
        StatusPengajuan.SIDANG_FATWA,
        StatusPengajuan.TERBIT,
    ],
    JenisPengajuan.REGULER: [
        StatusPengajuan.DIAJUKAN,
        StatusPengajuan.VERIFIKASI,
        StatusPengajuan.MENUNGGU_PEMBAYARAN,
        StatusPengajuan.PEMERIKSAAN_LPH,
        StatusPengajuan.SIDANG_FATWA,
        StatusPengajuan.TERBIT,
    ],
}

_KETERANGAN: Final[dict[StatusPengajuan, str]] = {
    StatusPengajuan.DIAJUKAN: "Pengajuan diterima dan menunggu verifikasi dokumen.",
    StatusPengajuan.VERIFIKASI: "Dokumen pengajuan sedang diverifikasi BPJPH.",
    StatusPengajuan.PENDAMPINGAN_PPH: "Verifikasi dan validasi oleh Pendamping Proses Produk Halal.",
    StatusPengajuan.MENUNGGU_PEMBAYARAN: "Biaya sertifikasi telah ditetapkan; silakan bayar melalui kode billing.",
    StatusPengajuan.PEMERIKSAAN_LPH: "Pembayaran diterima; pemeriksaan oleh Lembaga Pemeriksa Halal.",
    StatusPengajuan.SIDANG_FATWA: "Menunggu sidang fatwa penetapan kehalalan produk.",
    StatusPengajuan.TERBIT: "Sertifikat halal telah terbit.",
    StatusPengajuan.DIKEMBALIKAN: "Dokumen pengajuan dikembalikan untuk diperbaiki; ajukan kembali setelah perbaikan.",
    StatusPengajuan.DITOLAK: "Pengajuan ditolak.",
    StatusPengajuan.KEDALUWARSA: "Pengajuan kedaluwarsa.",
}

_NOMOR_SERTIFIKAT: Final = re.compile(r"ID[0-9]{17}")
_PERISA: Final = re.compile(r"\bperisa\b", re.IGNORECASE)
_TIDAK_HALAL: Final = re.compile(r"\b(babi|lard|khamr|bacon)\b", re.IGNORECASE)

#: A garbled answer: the API gateway's login page instead of SIHALAL's JSON.
BALASAN_RUSAK: Final[bytes] = b"<!DOCTYPE html><html><head><title>SIHALAL</title></head><body><h1>Sesi berakhir</h1></body></html>"


class BpjphKnobs(Knobs):
    """The SDK's common knobs plus BPJPH's own (see the module docstring)."""

    polls_per_stage: int = Field(default=2, ge=1, le=1000, description="Polls each stage of an application lasts.")
    unpaid: bool = Field(default=False, description="Regular applications submitted now never pay their fee.")
    forced_status: str | None = Field(default=None, min_length=1, max_length=40, description="The status answer reports this word instead.")


# ------------------------------------------------------------------ business rules


def nib_terdaftar(nib: str) -> bool:
    """Simulated OSS register: NIBs ending in 0000 were never issued."""
    return not nib.endswith("0000")


def biaya(jenis: JenisPengajuan, skala: SkalaUsaha) -> int:
    return 0 if jenis is JenisPengajuan.SELF_DECLARE else TARIF_REGULER[skala]


def catatan_perbaikan(permohonan: PengajuanSertifikasi) -> list[dict[str, str]]:
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


def bahan_tidak_halal(permohonan: PengajuanSertifikasi) -> str | None:
    """The first non-halal ingredient, named for the fatwa's refusal, or None."""
    for produk in permohonan.produk:
        for bahan in produk.bahan:
            if _TIDAK_HALAL.search(bahan):
                return f"{bahan} (produk '{produk.nama_produk}')"
    return None


def tambah_hari_kerja(mulai: date, hari: int) -> date:
    """``hari`` working days after ``mulai`` (weekends skipped; holidays not modelled [I])."""
    tanggal = mulai
    while hari > 0:
        tanggal += timedelta(days=1)
        if tanggal.weekday() < 5:
            hari -= 1
    return tanggal


def _angka(key: str, label: str, panjang: int) -> str:
    """Stable digits derived from the idempotency key (same key, same numbers)."""
    h = int.from_bytes(hashlib.sha256(f"{label}|{key}".encode()).digest()[:12], "big")
    return f"{h % 10**panjang:0{panjang}d}"


def kode_billing(key: str) -> str:
    return "8" + _angka(key, "billing", 14)


def nomor_sertifikat(key: str) -> str:
    """``ID`` + 17 digits: ``13`` (Sumatera Barat) + 15 digits [I]."""
    return "ID13" + _angka(key, "sertifikat", 15)


def nomor_daftar(jenis: JenisPengajuan, urutan: int, hari_ini: date) -> str:
    return f"SH{hari_ini.year}-{1 if jenis is JenisPengajuan.SELF_DECLARE else 2}-{urutan % 1_000_000:06d}"


def sidik_jari(permohonan: PengajuanSertifikasi) -> str:
    """Fingerprint of the parsed body: key order and whitespace do not make it "another body"."""
    kanonik = json.dumps(permohonan.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(kanonik.encode()).hexdigest()


def majukan(keadaan: dict[str, Any], polls_per_stage: int) -> dict[str, Any]:
    """One poll of an application: count it, and move to the next stage when due."""
    tahap = StatusPengajuan(keadaan["tahap"])
    if tahap.akhir or tahap is StatusPengajuan.DIKEMBALIKAN:  # the latter waits for a corrected submission
        return keadaan
    baru = {**keadaan, "cek": int(keadaan["cek"]) + 1, "total_cek": int(keadaan["total_cek"]) + 1}
    if baru["cek"] < polls_per_stage:
        return baru
    alur = ALUR[JenisPengajuan(keadaan["jenis"])]
    alasan: KodePenolakan | None = None
    if tahap is StatusPengajuan.VERIFIKASI and keadaan["catatan"]:
        berikut = StatusPengajuan.DIKEMBALIKAN
    elif tahap is StatusPengajuan.MENUNGGU_PEMBAYARAN and keadaan["tidak_bayar"]:
        berikut, alasan = StatusPengajuan.KEDALUWARSA, KodePenolakan.BILLING_KEDALUWARSA
    elif tahap is StatusPengajuan.SIDANG_FATWA and keadaan["bahan_tidak_halal"]:
        berikut, alasan = StatusPengajuan.DITOLAK, KodePenolakan.BAHAN_TIDAK_HALAL
    else:
        berikut = alur[alur.index(tahap) + 1]
    baru.update(tahap=berikut.value, cek=0, alasan=alasan.value if alasan else None, tahap_sebelum=tahap.value)
    return baru


def status_untuk(key: str, keadaan: dict[str, Any]) -> StatusPengajuanHalal:
    """The status answer for an application's current state."""
    tahap = StatusPengajuan(keadaan["tahap"])
    jenis = JenisPengajuan(keadaan["jenis"])
    alur = ALUR[jenis]
    # How far along the normal path did it get? An early end keeps what it had reached.
    dicapai = alur.index(tahap if tahap in alur else StatusPengajuan(keadaan["tahap_sebelum"]))
    tanggal = date.fromisoformat(keadaan["tanggal"])
    isi: dict[str, Any] = {
        "nomor_daftar": keadaan["nomor_daftar"],
        "status": tahap.value,
        "jenis_pengajuan": jenis.value,
        "tanggal_pengajuan": tanggal,
        "keterangan": _KETERANGAN[tahap],
        "biaya": int(keadaan["biaya"]),
    }
    if jenis is JenisPengajuan.REGULER and dicapai >= alur.index(StatusPengajuan.MENUNGGU_PEMBAYARAN):
        dibayar = dicapai > alur.index(StatusPengajuan.MENUNGGU_PEMBAYARAN)
        isi["tagihan"] = {
            "kode_billing": kode_billing(key),
            "jumlah": int(keadaan["biaya"]),
            "batas_bayar": tanggal + timedelta(days=HARI_BAYAR),
            "tanggal_bayar": tanggal + timedelta(days=1) if dibayar else None,
        }
    if tahap is StatusPengajuan.TERBIT:
        isi["sertifikat"] = {"nomor_sertifikat": nomor_sertifikat(key), "tanggal_terbit": tambah_hari_kerja(tanggal, HARI_KERJA_TERBIT[jenis.value])}
    if tahap is StatusPengajuan.DIKEMBALIKAN:
        isi["catatan_perbaikan"] = keadaan["catatan"]
    if keadaan.get("alasan") == KodePenolakan.BAHAN_TIDAK_HALAL:
        isi["penolakan"] = {
            "kode": KodePenolakan.BAHAN_TIDAK_HALAL.value,
            "alasan": f"Sidang fatwa menetapkan produk tidak halal: mengandung {keadaan['bahan_tidak_halal']}.",
        }
    elif keadaan.get("alasan") == KodePenolakan.BILLING_KEDALUWARSA:
        isi["penolakan"] = {"kode": KodePenolakan.BILLING_KEDALUWARSA.value, "alasan": f"Biaya sertifikasi tidak dibayar dalam {HARI_BAYAR} hari."}
    return StatusPengajuanHalal.model_validate(isi)


# ---------------------------------------------------------------------- responses


def sukses(data: dict[str, Any], status_code: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"sukses": True, "data": data}, status_code=status_code, headers=headers)


def galat(
    status_code: int, kode: KodeGalat, pesan: str, *, rincian: list[str] | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    isi = BalasanGalat(galat=Galat(kode=kode, pesan=pesan, rincian=rincian))
    return JSONResponse(isi.model_dump(mode="json", exclude_none=True), status_code=status_code, headers=headers)


def _rincian(exc: ValidationError | RequestValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in err.get('loc', ()) if p != 'body') or 'body'}: {err.get('msg', 'tidak valid')}" for err in exc.errors()]


def _detik_sampai_tengah_malam(now: datetime) -> int:
    besok = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=WIB)
    return max(1, int((besok - now).total_seconds()))


class Penolakan(Exception):
    """A refusal at submission, raised inside the ledger's ``produce`` so nothing is recorded."""

    def __init__(self, kode: KodeGalat, pesan: str) -> None:
        super().__init__(pesan)
        self.kode = kode
        self.pesan = pesan


def periksa_pengajuan(permohonan: PengajuanSertifikasi) -> None:
    """The submission rules (module docstring), in order; raises ``Penolakan``."""
    if not nib_terdaftar(permohonan.nib):
        raise Penolakan(KodeGalat.NIB_TIDAK_DITEMUKAN, f"NIB {permohonan.nib} tidak terdaftar di OSS.")
    if permohonan.status_kswp is StatusWajibPajak.TIDAK_VALID:
        raise Penolakan(
            KodeGalat.STATUS_WP_TIDAK_VALID,
            "Status wajib pajak (KSWP) pelaku usaha TIDAK VALID; selesaikan kewajiban perpajakan di DJP sebelum mengajukan sertifikasi halal.",
        )
    if permohonan.jenis_pengajuan is JenisPengajuan.SELF_DECLARE and permohonan.skala_usaha not in (SkalaUsaha.MIKRO, SkalaUsaha.KECIL):
        raise Penolakan(KodeGalat.SELF_DECLARE_TIDAK_BERHAK, "Jalur self declare hanya untuk usaha mikro dan kecil; gunakan jalur reguler.")


# ------------------------------------------------------------------ the simulator


class _Sihalal:
    """Knobs, ledger, clock and API key of one simulator instance."""

    def __init__(self, runtime: SimulatorRuntime, *, api_key: str, clock: Callable[[], datetime]) -> None:
        self.runtime = runtime
        self.api_key = api_key
        self.clock = clock
        self._nomor_ke_kunci: dict[str, str] = {}

    @property
    def knobs(self) -> BpjphKnobs:
        knobs = self.runtime.knobs
        assert isinstance(knobs, BpjphKnobs)
        return knobs

    def now(self) -> datetime:
        return self.clock().astimezone(WIB)

    def kunci_untuk(self, nomor: str) -> str | None:
        """The idempotency key of a registration number (index rebuilt from the ledger on a miss)."""
        if nomor not in self._nomor_ke_kunci:
            for entry in self.runtime.ledger.entries():
                if entry.state.get("nomor_daftar"):
                    self._nomor_ke_kunci[str(entry.state["nomor_daftar"])] = entry.key
        return self._nomor_ke_kunci.get(nomor)

    async def gerbang(self, request: Request) -> Response | None:
        """Faults first, then the API key: what answers before the operation runs."""
        fault = await self.runtime.gate()
        if fault is Fault.DOWN:
            return galat(503, KodeGalat.LAYANAN_TIDAK_TERSEDIA, "Layanan SIHALAL sedang dalam pemeliharaan.")
        if fault is Fault.BUSY:
            return galat(503, KodeGalat.SISTEM_SIBUK, "Sistem sedang sibuk, silakan coba lagi.", headers={"Retry-After": "1"})
        if not hmac.compare_digest(request.headers.get(HEADER_API_KEY, "").encode(), self.api_key.encode()):
            return galat(401, KodeGalat.API_KEY_TIDAK_VALID, f"Header {HEADER_API_KEY} tidak ada atau tidak valid.")
        return None

    def kirim(self, body: dict[str, Any], status_code: int) -> Response:
        """Answer an applied request: maybe lose or garble the reply on purpose."""
        if self.runtime.drop_reply():
            return galat(504, KodeGalat.WAKTU_HABIS, "Batas waktu gateway habis.")
        if self.runtime.garble_reply():
            if self.runtime.rng.randrange(2):
                return Response(BALASAN_RUSAK, status_code=status_code, media_type="text/html")
            return Response(json.dumps(body)[: 20].encode(), status_code=status_code, media_type="application/json")
        return JSONResponse(body, status_code=status_code)

    async def ajukan(self, request: Request) -> Response:
        knobs = self.knobs  # one consistent view for this request
        raw = await request.body()  # read first: a caller that gives up during latency is no error here
        if (ditolak := await self.gerbang(request)) is not None:
            return ditolak
        key = request.headers.get(HEADER_IDEMPOTENCY_KEY, "")
        if not key.strip() or len(key) > MAX_PANJANG_KEY or not key.isprintable():
            return galat(400, KodeGalat.IDEMPOTENCY_KEY_WAJIB, f"Header {HEADER_IDEMPOTENCY_KEY} wajib diisi (maksimal {MAX_PANJANG_KEY} karakter).")
        try:
            permohonan = PengajuanSertifikasi.model_validate_json(raw)
        except ValidationError as exc:
            return galat(422, KodeGalat.DATA_TIDAK_VALID, "Data pengajuan tidak valid.", rincian=_rincian(exc))

        now = self.now()
        hari_ini = now.date()
        jenis = permohonan.jenis_pengajuan

        def produce(urutan: int) -> dict[str, Any]:
            periksa_pengajuan(permohonan)
            tanda = TandaTerimaPengajuan(nomor_daftar=nomor_daftar(jenis, urutan, hari_ini), jenis_pengajuan=jenis, tanggal_pengajuan=hari_ini)
            return {"sukses": True, "data": tanda.model_dump(mode="json")}

        try:
            result = self.runtime.ledger.apply_once(
                key,
                operation=OPERASI_PENGAJUAN,
                subject=f"{jenis.value}/{permohonan.skala_usaha.value}",  # never the NIK or the business
                fingerprint=sidik_jari(permohonan),
                produce=produce,
                today=hari_ini,
                quota=knobs.daily_quota,
                now=now.astimezone(UTC),
            )
        except Penolakan as refusal:
            return galat(422, refusal.kode, refusal.pesan)
        if result.outcome is Outcome.CONFLICT:
            return galat(409, KodeGalat.KUNCI_BENTROK, f"{HEADER_IDEMPOTENCY_KEY} sudah dipakai untuk pengajuan lain.")
        if result.outcome is Outcome.QUOTA_EXCEEDED:
            return galat(
                429, KodeGalat.KUOTA_HARIAN_HABIS, "Kuota pengajuan hari ini sudah habis.",
                headers={"Retry-After": str(_detik_sampai_tengah_malam(now))},
            )  # fmt: skip
        assert result.entry is not None
        if result.outcome is Outcome.REPLAYED:
            return JSONResponse(result.entry.response, status_code=201, headers={HEADER_REPLAYED: "true"})

        tanda = TandaTerimaPengajuan.model_validate(result.entry.response["data"])
        self.runtime.ledger.update_state(
            key,
            {
                "nomor_daftar": tanda.nomor_daftar,
                "tahap": StatusPengajuan.DIAJUKAN.value,
                "tahap_sebelum": None,
                "cek": 0,
                "total_cek": 0,
                "jenis": jenis.value,
                "skala": permohonan.skala_usaha.value,
                "biaya": biaya(jenis, permohonan.skala_usaha),
                "tanggal": hari_ini.isoformat(),
                "catatan": catatan_perbaikan(permohonan),
                "bahan_tidak_halal": bahan_tidak_halal(permohonan),
                "tidak_bayar": knobs.unpaid and jenis is JenisPengajuan.REGULER,
                "alasan": None,
            },
        )
        self._nomor_ke_kunci[tanda.nomor_daftar] = key
        return self.kirim(result.entry.response, 201)

    async def cek_status(self, request: Request, nomor: str) -> Response:
        if (ditolak := await self.gerbang(request)) is not None:
            return ditolak
        key = self.kunci_untuk(nomor)
        entry = self.runtime.ledger.get(key) if key else None
        if key is None or entry is None:
            return galat(404, KodeGalat.PENGAJUAN_TIDAK_DITEMUKAN, f"Pengajuan {nomor} tidak ditemukan.")
        keadaan = majukan(entry.state, self.knobs.polls_per_stage)
        self.runtime.ledger.update_state(key, keadaan)
        data = status_untuk(key, keadaan).model_dump(mode="json", exclude_none=True)
        if self.knobs.forced_status:
            data["status"] = self.knobs.forced_status
        return self.kirim({"sukses": True, "data": data}, 200)


def _jam_sistem() -> datetime:
    return datetime.now(UTC)


def create_app(
    knobs: BpjphKnobs | None = None,
    *,
    ledger_path: str = ":memory:",
    api_key: str = DEV_API_KEY,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """Build a simulator app with its own knobs, random and ledger.

    ``api_key`` is the partner key it accepts (default: the hub's development key);
    ``clock`` (aware datetimes) lets tests fix "today"."""
    runtime = SimulatorRuntime(knobs or BpjphKnobs(), Ledger(ledger_path))
    sihalal = _Sihalal(runtime, api_key=api_key, clock=clock or _jam_sistem)

    app = simulator_app(runtime, title="BPJPH SIHALAL simulator", description="Native SIHALAL partner API (halal certification: submit, poll status) for mpp-hub adapter tests.", state=sihalal)

    @app.exception_handler(RequestValidationError)
    async def _validasi(_: Request, exc: RequestValidationError) -> JSONResponse:
        return galat(422, KodeGalat.DATA_TIDAK_VALID, "Permintaan tidak valid.", rincian=_rincian(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kode = {404: KodeGalat.TIDAK_DITEMUKAN, 405: KodeGalat.METODE_TIDAK_DIIZINKAN}.get(exc.status_code, KodeGalat.GALAT_INTERNAL)
        return galat(exc.status_code, kode, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.post(PATH_PENGAJUAN, status_code=201)
    async def pengajuan(request: Request) -> Response:
        """Submit a halal certification application (applied once per Idempotency-Key)."""
        return await sihalal.ajukan(request)

    @app.get(PATH_PENGAJUAN + "/{nomor_daftar}")
    async def status_pengajuan(nomor_daftar: str, request: Request) -> Response:
        """Where an application is now (each poll moves the simulated time on)."""
        return await sihalal.cek_status(request, nomor_daftar)

    return app


def main(argv: list[str] | None = None) -> None:
    """``python -m adapters.bpjph.simulator --port 8106 --ledger /tmp/bpjph.db``."""
    parser = argparse.ArgumentParser(description="BPJPH SIHALAL simulator (REST/JSON, polled).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8106)
    parser.add_argument("--ledger", default=":memory:", help="SQLite file for the ledger (default in-memory).")
    parser.add_argument("--api-key", default=DEV_API_KEY, help="The partner API key it accepts.")
    parser.add_argument("--knobs", default="{}", help='Initial knobs as JSON, e.g. \'{"polls_per_stage": 1}\'.')
    args = parser.parse_args(argv)
    app = create_app(BpjphKnobs.model_validate(json.loads(args.knobs)), ledger_path=args.ledger, api_key=args.api_key)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
