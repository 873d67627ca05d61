"""A stand-in for SIMKAH, the KUA's marriage registration backend (Kemenag).

Why it exists: the Kemenag adapter must be developed and fault-tested against
something that behaves like the real, foreign system: form-encoded PHP scripts,
Indonesian field names, refusals inside a 200 answer, slowness, and maintenance
windows in which a proxy serves an HTML page instead of the application.

It imports nothing from ``hub`` or ``schemas`` (it imitates a system we do not
control); it builds on the SDK's simulation toolkit for knobs, the apply-once ledger
and the ``/_sim`` control endpoints.

Native API
==========

``POST /simkah/pendaftaran.php`` (:class:`~adapters.kemenag.native.FormPendaftaran`)
    Register a marriage. Success: ``status=BERHASIL&no_pendaftaran=...&biaya=...``
    (:class:`~adapters.kemenag.native.JawabanPendaftaran`).
``POST /simkah/duplikat.php`` (:class:`~adapters.kemenag.native.FormDuplikat`)
    Issue a duplicate marriage book (:class:`~adapters.kemenag.native.JawabanDuplikat`).

Requests and answers are ``application/x-www-form-urlencoded``. A refusal is
``status=GAGAL&kode=...&pesan=...``: HTTP 400 for protocol problems (wrong content
type, missing/malformed field, no ``id_transaksi``), HTTP 200 for refusals on the
merits (as the PHP application does), HTTP 503 for ``SISTEM_SIBUK``.

Simulated business rules (deterministic; dates in WIB, the KUA's local time):

* **KUA register**: the three KUAs of Kota Bukittinggi, by district code -- 137501
  Guguak Panjang, 137502 Mandiangin Koto Selayan, 137503 Aur Birugo Tigo Baleh
  [V:WILAYAH]. Any other ``kode_kua``: ``KUA_TIDAK_DIKENAL``.
* ``nik_pemohon`` must be the groom's or the bride's NIK: ``PEMOHON_BUKAN_CATIN``.
* ``tgl_lahir_*`` must agree with the NIK's DDMMYY (women: day + 40), else 400
  ``DATA_TIDAK_VALID``; the same NIK twice: 400 ``DATA_TIDAK_VALID``.
* Ceremony before today: ``TANGGAL_AKAD_LEWAT``.
* ``tempat_akad=KUA`` means at the KUA in office hours: a working day (Mon-Fri)
  between 08:00 and 16:00 [I], else ``DI_LUAR_JAM_KERJA`` (book ``LUAR_KUA`` instead).
* Notice: at least **10 working days** (Mon-Fri; national holidays are not modelled
  [I]) counted from the registration day (inclusive) to the ceremony day
  (exclusive); fewer need ``no_dispensasi_camat``: ``PEMBERITAHUAN_KURANG_10_HARI``.
* Age on the ceremony day: under **19** needs ``no_dispensasi`` (religious court,
  UU 16/2019): ``USIA_DI_BAWAH_MINIMUM``; under **21** needs that person's N5
  (``no_n5_suami`` / ``no_n5_istri``): ``IZIN_ORANG_TUA_WAJIB``.
* Divorced or widowed without ``no_dok_kawin_lalu_*``: ``DOKUMEN_PERKAWINAN_LALU_WAJIB``.
* Fee: ``biaya=0`` at the KUA; ``biaya=600000`` for ``LUAR_KUA`` with a 15-digit
  ``kode_billing`` starting with 8 (PNBP, paid at a bank).
* ``jam_akad`` defaults to 09:00. Bimwin (premarital counselling) is always
  required [I]: ``tgl_bimwin`` is 5 working days before the ceremony, but not before
  the next working day and not after the ceremony.
* Duplicate: the register knows every akta whose KUA is one of the three above,
  whose sequence is below 9000 and whose year is not in the future; others are
  ``AKTA_TIDAK_DITEMUKAN``. ``alasan=HILANG`` needs ``no_surat_kehilangan``:
  ``SURAT_KEHILANGAN_WAJIB``.

Idempotency: ``id_transaksi`` is the caller's idempotency key (the hub's step id).
Each key is applied at most once (SDK ``Ledger.apply_once``, SQLite); a repeat with
the same fields replays the stored answer (header ``Idempotent-Replayed: true``),
with other fields it is refused as ``ID_TRANSAKSI_GANDA``. Refusals on the merits
are not recorded, so a retry after the cause is gone can still apply.

Knobs (``GET/PUT /_sim/knobs``; :class:`KemenagKnobs`), in the order they act:

* ``down`` -- every native request gets the 503 HTML page "Sedang dalam
  pemeliharaan" (served at once, as a proxy would).
* ``downtime_every_seconds`` / ``downtime_seconds`` -- periodic maintenance
  windows: SIMKAH is down during the first ``downtime_seconds`` of every period of
  ``downtime_every_seconds``, periods aligned to the Unix epoch (e.g. 86400 / 1800 =
  the first half hour of every UTC day, 07:00-07:30 WIB). Same page as ``down``,
  plus ``Retry-After`` = seconds until the window ends.
* ``latency_ms`` (default **1500**: SIMKAH is slow) plus a uniform random
  ``jitter_ms`` (default 500) -- delay of every native request.
* ``error_rate`` -- fraction answered 503 ``SISTEM_SIBUK`` (``Retry-After: 2``)
  before anything is applied.
* ``daily_quota`` -- max operations (both scripts) applied per WIB day: ``KUOTA_HARIAN_PENUH``.
* ``drop_reply_after_apply`` -- fraction applied and recorded, then answered with
  a 504 HTML "Gateway Time-out" page (execute-then-timeout).
* ``garble_rate`` -- fraction applied and recorded, then answered 200 with a PHP
  warning and a truncated body: not the protocol.
* ``seed`` -- seed of the simulator's random (jitter and rates).

Control plane (never affected by the knobs): ``/_sim/health``, ``/_sim/ledger``,
``/_sim/knobs`` (SDK ``control_router``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Final, Self

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, ValidationError, model_validator

from adapters.kemenag.native import (
    FORM,
    PATH_DUPLIKAT,
    PATH_PENDAFTARAN,
    TEKS_PEMELIHARAAN,
    AlasanDuplikat,
    FormatTidakValid,
    FormDuplikat,
    FormPendaftaran,
    JawabanDuplikat,
    JawabanGagal,
    JawabanPendaftaran,
    KodeGagal,
    StatusKawin,
    TempatAkad,
    decode_form,
    encode_form,
)
from adapters.sdk.testing.simulation import Fault, Knobs, Ledger, Outcome, SimulatorRuntime, simulator_app

#: KUAs work on Western Indonesia Time (UTC+7, no DST); a fixed offset avoids tzdata.
WIB: Final[timezone] = timezone(timedelta(hours=7), name="WIB")

#: The simulated KUA register: Kota Bukittinggi's districts [V:WILAYAH].
KUA: Final[Mapping[str, str]] = {
    "137501": "KUA Kecamatan Guguak Panjang",
    "137502": "KUA Kecamatan Mandiangin Koto Selayan",
    "137503": "KUA Kecamatan Aur Birugo Tigo Baleh",
}

BIAYA_LUAR_KUA: Final[int] = 600_000  # PNBP nikah outside the KUA / after hours [S:NIKAH-PDF]
MIN_HARI_KERJA: Final[int] = 10  # notice before the ceremony [S:NIKAH-DESA]
USIA_MINIMUM: Final[int] = 19  # UU 16/2019
USIA_TANPA_IZIN: Final[int] = 21  # UU 1/1974 art. 6(2): parental consent below 21
JAM_BUKA: Final[time] = time(8, 0)  # [I]
JAM_TUTUP: Final[time] = time(16, 0)  # [I]
JAM_AKAD_BAWAAN: Final[time] = time(9, 0)
HARI_KERJA_BIMWIN: Final[int] = 5  # Bimwin this many working days before the akad [I]
BATAS_URUT_AKTA: Final[int] = 9000  # akta sequences >= this are not in the register

OPERASI_PENDAFTARAN: Final[str] = "PENDAFTARAN_NIKAH"
OPERASI_DUPLIKAT: Final[str] = "DUPLIKAT_BUKU_NIKAH"

HALAMAN_PEMELIHARAAN: Final[str] = (
    "<!DOCTYPE html>\n<html lang=\"id\"><head><meta charset=\"utf-8\"><title>SIMKAH</title></head>\n"
    f"<body><h1>{TEKS_PEMELIHARAAN}</h1>\n"
    "<p>SIMKAH sedang dalam pemeliharaan sistem. Silakan coba beberapa saat lagi.</p></body></html>\n"
)
HALAMAN_504: Final[str] = (
    "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
    "<center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
PERINGATAN_PHP: Final[str] = (
    "<br />\n<b>Warning</b>:  mysqli_query(): MySQL server has gone away in "
    "<b>/var/www/simkah/{skrip}</b> on line <b>212</b><br />\nstatus=BERHASIL&no_"
)


class KemenagKnobs(Knobs):
    """The SDK's common knobs, with SIMKAH's slowness as default, plus jitter and
    periodic maintenance windows."""

    latency_ms: int = Field(default=1500, ge=0, le=600_000, description="Base delay of each native request (SIMKAH is slow).")
    jitter_ms: int = Field(default=500, ge=0, le=600_000, description="Uniform random extra delay, 0..jitter_ms.")
    downtime_every_seconds: float | None = Field(default=None, gt=0, description="Period of maintenance windows (aligned to the Unix epoch).")
    downtime_seconds: float = Field(default=0.0, ge=0, description="Length of the window at the start of each period.")

    @model_validator(mode="after")
    def _window_fits_period(self) -> Self:
        if self.downtime_every_seconds is not None and self.downtime_seconds > self.downtime_every_seconds:
            raise ValueError("downtime_seconds must not exceed downtime_every_seconds")
        return self


def jam_sistem() -> datetime:
    return datetime.now(WIB)


class KemenagRuntime(SimulatorRuntime):
    """The toolkit runtime plus a clock, jitter and maintenance windows."""

    knobs: KemenagKnobs

    def __init__(self, knobs: KemenagKnobs, ledger: Ledger, clock: Callable[[], datetime]) -> None:
        super().__init__(knobs, ledger)
        self.clock = clock

    def now(self) -> datetime:
        return self.clock().astimezone(WIB)

    def sisa_pemeliharaan(self) -> float | None:
        """Seconds left of the current maintenance window, or None outside windows."""
        k = self.knobs
        if k.downtime_every_seconds is None or k.downtime_seconds <= 0:
            return None
        fase = self.clock().timestamp() % k.downtime_every_seconds
        return k.downtime_seconds - fase if fase < k.downtime_seconds else None

    async def gate(self) -> Fault | None:
        k = self.knobs
        if k.down or self.sisa_pemeliharaan() is not None:
            return Fault.DOWN
        delay_ms = k.latency_ms + (self.rng.uniform(0, k.jitter_ms) if k.jitter_ms else 0)
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        if self.roll(k.error_rate):
            return Fault.BUSY
        return None


# ---------------------------------------------------------------- business rules


class Penolakan(Exception):
    """A refusal on the merits, raised inside the ledger's produce so nothing is stored."""

    def __init__(self, kode: KodeGagal, pesan: str) -> None:
        super().__init__(f"{kode}: {pesan}")
        self.kode = kode
        self.pesan = pesan


def hari_kerja(day: date) -> bool:
    return day.weekday() < 5


def jumlah_hari_kerja(dari: date, sampai: date) -> int:
    """Working days d with dari <= d < sampai."""
    return sum(1 for i in range((sampai - dari).days) if hari_kerja(dari + timedelta(days=i)))


def geser_hari_kerja(day: date, n: int) -> date:
    """The working day n working days after (n > 0) or before (n < 0) ``day``."""
    step = 1 if n > 0 else -1
    while n:
        day += timedelta(days=step)
        if hari_kerja(day):
            n -= step
    return day


def umur(lahir: date, pada: date) -> int:
    return pada.year - lahir.year - ((pada.month, pada.day) < (lahir.month, lahir.day))


def tgl_lahir_sesuai_nik(nik: str, lahir: date) -> bool:
    """DDMMYY in the NIK (day + 40 for women) must be the stated birth date."""
    dd, mm, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    return lahir.day in (dd, dd - 40) and lahir.month == mm and lahir.year % 100 == yy


def periksa_data_pendaftaran(form: FormPendaftaran) -> str | None:
    """Consistency of the form itself (400 DATA_TIDAK_VALID); None when consistent."""
    if form.nik_suami == form.nik_istri:
        return "nik_suami dan nik_istri tidak boleh sama."
    if not tgl_lahir_sesuai_nik(form.nik_suami, form.tgl_lahir_suami):
        return "tgl_lahir_suami tidak sesuai dengan NIK."
    if not tgl_lahir_sesuai_nik(form.nik_istri, form.tgl_lahir_istri):
        return "tgl_lahir_istri tidak sesuai dengan NIK."
    return None


def periksa_pendaftaran(form: FormPendaftaran, today: date) -> None:
    """The KUA's rules; raises :class:`Penolakan` with the first one broken."""
    if form.kode_kua not in KUA:
        raise Penolakan(KodeGagal.KUA_TIDAK_DIKENAL, f"Kode KUA {form.kode_kua} tidak dikenal.")
    if form.nik_pemohon not in (form.nik_suami, form.nik_istri):
        raise Penolakan(KodeGagal.PEMOHON_BUKAN_CATIN, "Pemohon harus calon suami atau calon istri.")
    if form.tgl_akad < today:
        raise Penolakan(KodeGagal.TANGGAL_AKAD_LEWAT, "Tanggal akad sudah lewat.")
    jam = form.jam_akad or JAM_AKAD_BAWAAN
    if form.tempat_akad is TempatAkad.KUA and not (hari_kerja(form.tgl_akad) and JAM_BUKA <= jam < JAM_TUTUP):
        raise Penolakan(
            KodeGagal.DI_LUAR_JAM_KERJA,
            "Akad di KUA hanya pada hari kerja pukul 08.00-16.00; di luar itu daftarkan sebagai LUAR_KUA.",
        )
    if jumlah_hari_kerja(today, form.tgl_akad) < MIN_HARI_KERJA and form.no_dispensasi_camat is None:
        raise Penolakan(
            KodeGagal.PEMBERITAHUAN_KURANG_10_HARI,
            "Pendaftaran kurang dari 10 hari kerja sebelum akad memerlukan dispensasi camat.",
        )
    calon = (
        ("suami", form.tgl_lahir_suami, form.no_n5_suami, form.status_kawin_suami, form.no_dok_kawin_lalu_suami),
        ("istri", form.tgl_lahir_istri, form.no_n5_istri, form.status_kawin_istri, form.no_dok_kawin_lalu_istri),
    )
    for siapa, lahir, _, _, _ in calon:
        if umur(lahir, form.tgl_akad) < USIA_MINIMUM and form.no_dispensasi is None:
            raise Penolakan(
                KodeGagal.USIA_DI_BAWAH_MINIMUM,
                f"Calon {siapa} belum berusia 19 tahun pada hari akad; diperlukan dispensasi kawin dari Pengadilan Agama.",
            )
    for siapa, lahir, n5, _, _ in calon:
        if umur(lahir, form.tgl_akad) < USIA_TANPA_IZIN and n5 is None:
            raise Penolakan(KodeGagal.IZIN_ORANG_TUA_WAJIB, f"Calon {siapa} belum berusia 21 tahun; diperlukan izin orang tua (N5).")
    for siapa, _, _, status_kawin, dokumen in calon:
        if status_kawin is not StatusKawin.BELUM_KAWIN and dokumen is None:
            raise Penolakan(
                KodeGagal.DOKUMEN_PERKAWINAN_LALU_WAJIB, f"Calon {siapa} pernah menikah; lampirkan akta cerai atau surat kematian (N6)."
            )


def kode_billing_untuk(key: str) -> str:
    """A 15-digit PNBP billing code starting with 8, stable per idempotency key."""
    h = int.from_bytes(hashlib.sha256(f"billing|{key}".encode()).digest()[:8], "big")
    return "8" + f"{h % 10**14:014d}"


def jadwal_bimwin(today: date, tgl_akad: date) -> date:
    besok_kerja = geser_hari_kerja(today, 1)
    return min(max(geser_hari_kerja(tgl_akad, -HARI_KERJA_BIMWIN), besok_kerja), tgl_akad)


def buat_pendaftaran(form: FormPendaftaran, *, key: str, sequence: int, today: date) -> JawabanPendaftaran:
    luar = form.tempat_akad is TempatAkad.LUAR_KUA
    return JawabanPendaftaran(
        no_pendaftaran=f"DFT/{form.kode_kua}/{today.year}/{sequence:05d}",
        tgl_daftar=today,
        kode_kua=form.kode_kua,
        nama_kua=KUA[form.kode_kua],
        tgl_akad=form.tgl_akad,
        jam_akad=form.jam_akad or JAM_AKAD_BAWAAN,
        tempat_akad=form.tempat_akad,
        biaya=BIAYA_LUAR_KUA if luar else 0,
        kode_billing=kode_billing_untuk(key) if luar else None,
        wajib_bimwin="YA",
        tgl_bimwin=jadwal_bimwin(today, form.tgl_akad),
    )


def periksa_duplikat(form: FormDuplikat, today: date) -> None:
    urut, kode_kua, _, tahun = form.no_akta_nikah.split("/")
    if kode_kua not in KUA or int(urut) >= BATAS_URUT_AKTA or int(tahun) > today.year:
        raise Penolakan(KodeGagal.AKTA_TIDAK_DITEMUKAN, f"Akta nikah {form.no_akta_nikah} tidak ditemukan.")
    if form.alasan is AlasanDuplikat.HILANG and form.no_surat_kehilangan is None:
        raise Penolakan(KodeGagal.SURAT_KEHILANGAN_WAJIB, "Buku nikah hilang: lampirkan surat keterangan kehilangan dari kepolisian.")


def buat_duplikat(form: FormDuplikat, *, sequence: int, today: date) -> JawabanDuplikat:
    kode_kua = form.no_akta_nikah.split("/")[1]
    return JawabanDuplikat(
        no_duplikat=f"DUP/{kode_kua}/{today.year}/{sequence:05d}", no_akta_nikah=form.no_akta_nikah, kode_kua=kode_kua, tgl_terbit=today
    )


@dataclass(frozen=True, slots=True)
class Operasi:
    """One native script: its form, its rules and its answer; the request pipeline is shared."""

    form: type[FormPendaftaran] | type[FormDuplikat]
    nama: str  # operation name in the ledger
    skrip: str  # the PHP script, as it appears in PHP warnings
    subjek: Callable[[Any], str]  # ledger subject: the KUA, never personal data
    periksa_data: Callable[[Any], str | None]  # consistency of the form (400)
    periksa: Callable[[Any, date], None]  # business rules (raise Penolakan)
    buat: Callable[[Any, str, int, date], BaseModel]  # the success answer


PENDAFTARAN: Final[Operasi] = Operasi(
    form=FormPendaftaran,
    nama=OPERASI_PENDAFTARAN,
    skrip="pendaftaran.php",
    subjek=lambda f: f"KUA {f.kode_kua}",
    periksa_data=periksa_data_pendaftaran,
    periksa=periksa_pendaftaran,
    buat=lambda f, key, seq, today: buat_pendaftaran(f, key=key, sequence=seq, today=today),
)
DUPLIKAT: Final[Operasi] = Operasi(
    form=FormDuplikat,
    nama=OPERASI_DUPLIKAT,
    skrip="duplikat.php",
    subjek=lambda f: f"KUA {f.no_akta_nikah.split('/')[1]}",
    periksa_data=lambda _: None,
    periksa=periksa_duplikat,
    buat=lambda f, _key, seq, today: buat_duplikat(f, sequence=seq, today=today),
)


def sidik_jari(form: BaseModel) -> str:
    """Fingerprint of the parsed fields without the key: "same request" ignores order and blanks."""
    isi = form.model_dump(mode="json", exclude={"id_transaksi"})
    return hashlib.sha256(json.dumps(isi, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# --------------------------------------------------------------------- responses


def jawab(fields: Mapping[str, Any], status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(encode_form(fields), status_code=status_code, media_type=FORM, headers=headers)


def gagal(kode: KodeGagal, pesan: str, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return jawab(JawabanGagal(kode=kode.value, pesan=pesan).model_dump(mode="json"), status_code, headers)


def _galat_validasi(exc: ValidationError) -> Response:
    missing = [str(e["loc"][0]) for e in exc.errors() if e["type"] == "missing"]
    if missing:
        return gagal(KodeGagal.DATA_TIDAK_LENGKAP, f"Data wajib belum diisi: {', '.join(missing)}.", 400)
    salah = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
    return gagal(KodeGagal.DATA_TIDAK_VALID, f"Data tidak valid: {', '.join(salah)}.", 400)


# --------------------------------------------------------------------------- app


class SimulatorSettings(BaseModel):
    """How one simulator instance starts; the knobs can change at runtime."""

    knobs: KemenagKnobs = Field(default_factory=KemenagKnobs)
    ledger_path: str = ":memory:"


def create_app(settings: SimulatorSettings | None = None, *, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """A SIMKAH simulator with its own ledger, knobs and random.

    ``clock`` (aware datetimes) lets tests fix "today" and maintenance windows. The
    ledger is opened here, not at startup, so the app also works under transports
    that skip lifespan events (``httpx.ASGITransport``).
    """
    settings = settings or SimulatorSettings()
    runtime = KemenagRuntime(settings.knobs, Ledger(settings.ledger_path), clock or jam_sistem)

    app = simulator_app(runtime, title="SIMKAH simulator (Kemenag KUA)", description="Form-encoded SIMKAH-like backend for mpp-hub tests.")

    async def layani(request: Request, op: Operasi) -> Response:
        """The request pipeline shared by both scripts; knobs act in the documented order."""
        raw = await request.body()  # read first: a caller that gives up during the delay must not break the handler
        fault = await runtime.gate()
        if fault is Fault.DOWN:
            sisa = runtime.sisa_pemeliharaan()
            headers = {"Retry-After": str(max(1, math.ceil(sisa)))} if sisa is not None else None
            return HTMLResponse(HALAMAN_PEMELIHARAAN, status_code=503, headers=headers)
        if fault is Fault.BUSY:
            return gagal(KodeGagal.SISTEM_SIBUK, "Sistem sedang sibuk, silakan coba lagi.", 503, {"Retry-After": "2"})

        if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
            return gagal(KodeGagal.FORMAT_TIDAK_VALID, f"Content-Type harus {FORM}.", 400)
        try:
            fields = decode_form(raw)
        except FormatTidakValid as exc:
            return gagal(KodeGagal.FORMAT_TIDAK_VALID, f"Isi permintaan bukan form: {exc}.", 400)
        fields = {k: v for k, v in fields.items() if v.strip()}  # a blank field is an absent field
        key = fields.get("id_transaksi", "")
        if not key.strip():
            return gagal(KodeGagal.ID_TRANSAKSI_WAJIB, "id_transaksi wajib diisi.", 400)
        try:
            form = op.form.model_validate(fields)
        except ValidationError as exc:
            if any(e["loc"] and e["loc"][0] == "id_transaksi" for e in exc.errors()):
                return gagal(KodeGagal.ID_TRANSAKSI_WAJIB, "id_transaksi tidak valid.", 400)
            return _galat_validasi(exc)
        if (masalah := op.periksa_data(form)) is not None:
            return gagal(KodeGagal.DATA_TIDAK_VALID, masalah, 400)

        knobs = runtime.knobs
        today = runtime.now().date()

        def produce(sequence: int) -> dict[str, Any]:
            op.periksa(form, today)
            return op.buat(form, key, sequence, today).model_dump(mode="json", exclude_none=True)

        try:
            result = runtime.ledger.apply_once(
                key,
                operation=op.nama,
                subject=op.subjek(form),
                fingerprint=sidik_jari(form),
                produce=produce,
                today=today,
                quota=knobs.daily_quota,
            )
        except Penolakan as tolak:
            return gagal(tolak.kode, tolak.pesan)
        if result.outcome is Outcome.CONFLICT:
            return gagal(KodeGagal.ID_TRANSAKSI_GANDA, "id_transaksi sudah dipakai untuk data lain.")
        if result.outcome is Outcome.QUOTA_EXCEEDED:
            return gagal(KodeGagal.KUOTA_HARIAN_PENUH, "Kuota pendaftaran hari ini sudah penuh.")
        assert result.entry is not None
        if runtime.drop_reply():
            return HTMLResponse(HALAMAN_504, status_code=504)  # applied, but the caller never hears
        if runtime.garble_reply():
            return HTMLResponse(PERINGATAN_PHP.format(skrip=op.skrip))  # applied, answer is not the protocol
        headers = {"Idempotent-Replayed": "true"} if result.outcome is Outcome.REPLAYED else None
        return jawab(result.entry.response, headers=headers)

    @app.post(PATH_PENDAFTARAN)
    async def pendaftaran(request: Request) -> Response:
        """Register a marriage, at most once per id_transaksi."""
        return await layani(request, PENDAFTARAN)

    @app.post(PATH_DUPLIKAT)
    async def duplikat(request: Request) -> Response:
        """Issue a duplicate marriage book, at most once per id_transaksi."""
        return await layani(request, DUPLIKAT)

    return app


def main(argv: list[str] | None = None) -> None:
    """``python -m adapters.kemenag.simulator --port 8105 --knobs '{"latency_ms": 50}'``."""
    parser = argparse.ArgumentParser(description="SIMKAH (Kemenag KUA) backend simulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8105)
    parser.add_argument("--ledger", default=":memory:", help="SQLite file for the ledger (default in-memory).")
    parser.add_argument("--knobs", default="{}", help="Initial knobs as JSON.")
    args = parser.parse_args(argv)
    settings = SimulatorSettings(knobs=KemenagKnobs.model_validate(json.loads(args.knobs)), ledger_path=args.ledger)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
