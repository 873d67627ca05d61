"""A stand-in for SIMKAH, the KUA's marriage registration backend (Kemenag).

Why it exists: the Kemenag adapter must be developed and fault-tested against
something that behaves like the real, foreign system: form-encoded PHP scripts,
Indonesian field names, refusals inside a 200 answer, slowness, and maintenance
windows in which a proxy serves an HTML page instead of the application.

It imports nothing from ``hub`` (it imitates a system we do not control); the request
pipeline, knobs, apply-once ledger, clock and working-day calendar come from the SDK's
simulator scaffold (:mod:`adapters.sdk.testing.scaffold`); what is SIMKAH's own lives
here: its rules, its slowness and maintenance windows, and its form-encoded dialect
(:class:`DialekSimkah`).

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
* ``tempat_akad=KUA`` means at the KUA in office hours: a working day between the
  counters' opening and closing times of the working-day calendar (08:00-16:00 [I]),
  else ``DI_LUAR_JAM_KERJA`` (book ``LUAR_KUA`` instead).
* Notice: at least **10 working days** counted from the registration day (inclusive)
  to the ceremony day (exclusive); fewer need ``no_dispensasi_camat``:
  ``PEMBERITAHUAN_KURANG_10_HARI``. Working days are the hub's calendar's: weekends,
  national holidays and cuti bersama do not count.
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
the same fields replays the stored answer (header ``Idempotent-Replayed: true``;
a replay is never lost or garbled), with other fields it is refused as
``ID_TRANSAKSI_GANDA``. Refusals on the merits are not recorded, so a retry after the
cause is gone can still apply.

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
``/_sim/knobs`` (the scaffold's).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Any, Final, Self

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, ValidationError, model_validator

from adapters.kemenag import native
from adapters.sdk import testing as sim
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.testing.clock import WIB
from schemas.validation import invalid_fields

__all__ = ["WIB", "KemenagKnobs", "SimulatorSettings", "create_app", "from_options"]

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
JAM_AKAD_BAWAAN: Final[time] = time(9, 0)
HARI_KERJA_BIMWIN: Final[int] = 5  # Bimwin this many working days before the akad [I]
BATAS_URUT_AKTA: Final[int] = 9000  # akta sequences >= this are not in the register

OPERASI_PENDAFTARAN: Final[str] = "PENDAFTARAN_NIKAH"
OPERASI_DUPLIKAT: Final[str] = "DUPLIKAT_BUKU_NIKAH"
OPERASI_REKOMENDASI: Final[str] = "REKOMENDASI_NIKAH"

HALAMAN_PEMELIHARAAN: Final[str] = (
    '<!DOCTYPE html>\n<html lang="id"><head><meta charset="utf-8"><title>SIMKAH</title></head>\n'
    f"<body><h1>{native.TEKS_PEMELIHARAAN}</h1>\n"
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


class KemenagKnobs(sim.Knobs):
    """The SDK's common knobs, with SIMKAH's slowness as default, plus jitter and
    periodic maintenance windows."""

    latency_ms: int = Field(default=1500, ge=0, le=600_000, description="Base delay of each native request (SIMKAH is slow).")
    jitter_ms: int = Field(default=500, ge=0, le=600_000, description="Uniform random extra delay, 0..jitter_ms.")
    downtime_every_seconds: float | None = Field(
        default=None, gt=0, description="Period of maintenance windows (aligned to the Unix epoch)."
    )
    downtime_seconds: float = Field(default=0.0, ge=0, description="Length of the window at the start of each period.")

    @model_validator(mode="after")
    def _window_fits_period(self) -> Self:
        if self.downtime_every_seconds is not None and self.downtime_seconds > self.downtime_every_seconds:
            raise ValueError("downtime_seconds must not exceed downtime_every_seconds")
        return self


class KemenagRuntime(sim.SimulatorRuntime):
    """The scaffold's runtime, slow with jitter and down in maintenance windows."""

    def down_for(self) -> float | None:
        """Seconds left of the current maintenance window (0.0 when ``down``), else None."""
        k = self.knobs
        assert isinstance(k, KemenagKnobs)
        if k.down:
            return 0.0
        if k.downtime_every_seconds is None or k.downtime_seconds <= 0:
            return None
        fase = self.clock.source().timestamp() % k.downtime_every_seconds
        return k.downtime_seconds - fase if fase < k.downtime_seconds else None

    def delay_ms(self) -> float:
        k = self.knobs
        assert isinstance(k, KemenagKnobs)
        return k.latency_ms + (self.rng.uniform(0, k.jitter_ms) if k.jitter_ms else 0)


# ---------------------------------------------------------------- business rules


def umur(lahir: date, pada: date) -> int:
    return pada.year - lahir.year - ((pada.month, pada.day) < (lahir.month, lahir.day))


def tgl_lahir_sesuai_nik(nik: str, lahir: date) -> bool:
    """DDMMYY in the NIK (day + 40 for women) must be the stated birth date."""
    dd, mm, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    return lahir.day in (dd, dd - 40) and lahir.month == mm and lahir.year % 100 == yy


def periksa_data_pendaftaran(form: native.FormPendaftaran) -> None:
    """Consistency of the form itself: 400 DATA_TIDAK_VALID whatever the ledger says."""
    for salah, pesan in (
        (form.nik_suami == form.nik_istri, "nik_suami dan nik_istri tidak boleh sama."),
        (not tgl_lahir_sesuai_nik(form.nik_suami, form.tgl_lahir_suami), "tgl_lahir_suami tidak sesuai dengan NIK."),
        (not tgl_lahir_sesuai_nik(form.nik_istri, form.tgl_lahir_istri), "tgl_lahir_istri tidak sesuai dengan NIK."),
    ):
        if salah:
            raise sim.Malformed(pesan, code=native.KodeGagal.DATA_TIDAK_VALID)


def periksa_pendaftaran(call: sim.Call[native.FormPendaftaran]) -> None:
    """The KUA's rules; refuses with the first one broken."""
    form, today, kalender = call.payload, call.today, call.clock
    if form.kode_kua not in KUA:
        raise sim.Refusal(native.KodeGagal.KUA_TIDAK_DIKENAL, f"Kode KUA {form.kode_kua} tidak dikenal.")
    if form.nik_pemohon not in (form.nik_suami, form.nik_istri):
        raise sim.Refusal(native.KodeGagal.PEMOHON_BUKAN_CATIN, "Pemohon harus calon suami atau calon istri.")
    if form.tgl_akad < today:
        raise sim.Refusal(native.KodeGagal.TANGGAL_AKAD_LEWAT, "Tanggal akad sudah lewat.")
    jam = form.jam_akad or JAM_AKAD_BAWAAN
    jam_kantor = kalender.calendar.opens <= jam < kalender.calendar.closes
    if form.tempat_akad is native.TempatAkad.KUA and not (kalender.is_working_day(form.tgl_akad) and jam_kantor):
        raise sim.Refusal(
            native.KodeGagal.DI_LUAR_JAM_KERJA,
            f"Akad di KUA hanya pada hari kerja pukul {kalender.calendar.opens:%H.%M}-{kalender.calendar.closes:%H.%M}; "
            "di luar itu daftarkan sebagai LUAR_KUA.",
        )
    if kalender.working_days_between(today, form.tgl_akad) < MIN_HARI_KERJA and form.no_dispensasi_camat is None:
        raise sim.Refusal(
            native.KodeGagal.PEMBERITAHUAN_KURANG_10_HARI,
            "Pendaftaran kurang dari 10 hari kerja sebelum akad memerlukan dispensasi camat.",
        )
    calon = (
        ("suami", form.tgl_lahir_suami, form.no_n5_suami, form.status_kawin_suami, form.no_dok_kawin_lalu_suami),
        ("istri", form.tgl_lahir_istri, form.no_n5_istri, form.status_kawin_istri, form.no_dok_kawin_lalu_istri),
    )
    for siapa, lahir, _, _, _ in calon:
        if umur(lahir, form.tgl_akad) < USIA_MINIMUM and form.no_dispensasi is None:
            raise sim.Refusal(
                native.KodeGagal.USIA_DI_BAWAH_MINIMUM,
                f"Calon {siapa} belum berusia 19 tahun pada hari akad; diperlukan dispensasi kawin dari Pengadilan Agama.",
            )
    for siapa, lahir, n5, _, _ in calon:
        if umur(lahir, form.tgl_akad) < USIA_TANPA_IZIN and n5 is None:
            raise sim.Refusal(
                native.KodeGagal.IZIN_ORANG_TUA_WAJIB, f"Calon {siapa} belum berusia 21 tahun; diperlukan izin orang tua (N5)."
            )
    for siapa, _, _, status_kawin, dokumen in calon:
        if status_kawin is not native.StatusKawin.BELUM_KAWIN and dokumen is None:
            raise sim.Refusal(
                native.KodeGagal.DOKUMEN_PERKAWINAN_LALU_WAJIB,
                f"Calon {siapa} pernah menikah; lampirkan akta cerai atau surat kematian (N6).",
            )


def jadwal_bimwin(kalender: sim.SimClock, today: date, tgl_akad: date) -> date:
    """Bimwin ``HARI_KERJA_BIMWIN`` working days before the akad, not before the next
    working day and not after the akad."""
    besok_kerja = kalender.add_working_days(today, 1)
    return min(max(kalender.add_working_days(tgl_akad, -HARI_KERJA_BIMWIN), besok_kerja), tgl_akad)


def buat_pendaftaran(call: sim.Call[native.FormPendaftaran], sequence: int) -> dict[str, Any]:
    form, today = call.payload, call.today
    luar = form.tempat_akad is native.TempatAkad.LUAR_KUA
    return native.JawabanPendaftaran(
        no_pendaftaran=f"DFT/{form.kode_kua}/{today.year}/{sequence:05d}",
        tgl_daftar=today,
        kode_kua=form.kode_kua,
        nama_kua=KUA[form.kode_kua],
        tgl_akad=form.tgl_akad,
        jam_akad=form.jam_akad or JAM_AKAD_BAWAAN,
        tempat_akad=form.tempat_akad,
        biaya=BIAYA_LUAR_KUA if luar else 0,
        kode_billing=sim.pnbp_billing_code(form.id_transaksi) if luar else None,
        wajib_bimwin="YA",
        tgl_bimwin=jadwal_bimwin(call.clock, today, form.tgl_akad),
    ).model_dump(mode="json", exclude_none=True)


def periksa_duplikat(call: sim.Call[native.FormDuplikat]) -> None:
    form = call.payload
    urut, kode_kua, _, tahun = form.no_akta_nikah.split("/")
    if kode_kua not in KUA or int(urut) >= BATAS_URUT_AKTA or int(tahun) > call.today.year:
        raise sim.Refusal(native.KodeGagal.AKTA_TIDAK_DITEMUKAN, f"Akta nikah {form.no_akta_nikah} tidak ditemukan.")
    if form.alasan is native.AlasanDuplikat.HILANG and form.no_surat_kehilangan is None:
        raise sim.Refusal(
            native.KodeGagal.SURAT_KEHILANGAN_WAJIB, "Buku nikah hilang: lampirkan surat keterangan kehilangan dari kepolisian."
        )


def buat_duplikat(call: sim.Call[native.FormDuplikat], sequence: int) -> dict[str, Any]:
    form, today = call.payload, call.today
    kode_kua = form.no_akta_nikah.split("/")[1]
    return native.JawabanDuplikat(
        no_duplikat=f"DUP/{kode_kua}/{today.year}/{sequence:05d}", no_akta_nikah=form.no_akta_nikah, kode_kua=kode_kua, tgl_terbit=today
    ).model_dump(mode="json", exclude_none=True)


def periksa_rekomendasi(call: sim.Call[native.FormRekomendasi]) -> None:
    """The home KUA recommends only its own residents, to another KUA, for an akad ahead [I]."""
    form = call.payload
    if form.kode_kua_asal not in KUA:
        raise sim.Refusal(native.KodeGagal.KUA_TIDAK_DIKENAL, f"Kode KUA {form.kode_kua_asal} tidak dikenal.")
    if form.kode_kua_tujuan == form.kode_kua_asal:
        raise sim.Refusal(native.KodeGagal.KUA_TUJUAN_SAMA, "Akad di wilayah KUA sendiri tidak memerlukan rekomendasi nikah.")
    if form.nik_pemohon[:6] != form.kode_kua_asal:
        raise sim.Refusal(
            native.KodeGagal.DOMISILI_TIDAK_SESUAI, f"Pemohon tidak berdomisili di wilayah {KUA[form.kode_kua_asal]}; urus di KUA domisili."
        )
    if form.tgl_akad < call.today:
        raise sim.Refusal(native.KodeGagal.TANGGAL_AKAD_LEWAT, "Tanggal akad sudah lewat.")
    if form.status_kawin is not native.StatusKawin.BELUM_KAWIN and form.no_dok_kawin_lalu is None:
        raise sim.Refusal(native.KodeGagal.DOKUMEN_PERKAWINAN_LALU_WAJIB, "Lampirkan akta cerai atau akta kematian / N6.")


def buat_rekomendasi(call: sim.Call[native.FormRekomendasi], sequence: int) -> dict[str, Any]:
    form, today = call.payload, call.today
    return native.JawabanRekomendasi(
        no_rekomendasi=f"B-{sequence:04d}/Kua.03.{form.kode_kua_asal[-2:]}/PW.01/{today:%m}/{today.year}",
        tgl_terbit=today,
        kode_kua_asal=form.kode_kua_asal,
        nama_kua_asal=KUA[form.kode_kua_asal],
        kode_kua_tujuan=form.kode_kua_tujuan,
        tgl_akad=form.tgl_akad,
    ).model_dump(mode="json", exclude_none=True)


def _id_transaksi(form: native.FormPendaftaran | native.FormDuplikat | native.FormRekomendasi) -> str:
    return form.id_transaksi


#: The key is the form's ``id_transaksi``; the ledger subject is the KUA, never personal data.
OPERASI: Final[tuple[sim.Operation[Any], ...]] = (
    sim.Operation(name=OPERASI_PENDAFTARAN, path=native.PATH_PENDAFTARAN, model=native.FormPendaftaran, key=_id_transaksi,
                  validate=periksa_data_pendaftaran, subject=lambda f: f"KUA {f.kode_kua}", checks=(periksa_pendaftaran,),
                  produce=buat_pendaftaran, summary="Register a marriage, at most once per id_transaksi"),
    sim.Operation(name=OPERASI_DUPLIKAT, path=native.PATH_DUPLIKAT, model=native.FormDuplikat, key=_id_transaksi,
                  subject=lambda f: f"KUA {f.no_akta_nikah.split('/')[1]}", checks=(periksa_duplikat,), produce=buat_duplikat,
                  summary="Issue a duplicate marriage book, at most once per id_transaksi"),
    sim.Operation(name=OPERASI_REKOMENDASI, path=native.PATH_REKOMENDASI, model=native.FormRekomendasi, key=_id_transaksi,
                  subject=lambda f: f"KUA {f.kode_kua_asal}", checks=(periksa_rekomendasi,), produce=buat_rekomendasi,
                  summary="Recommend the applicant to another district's KUA, at most once per id_transaksi"),
)  # fmt: skip


# ------------------------------------------------------------------ the protocol


def jawab(fields: Mapping[str, Any], status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(native.encode_form(fields), status_code=status_code, media_type=native.FORM, headers=headers)


def gagal(kode: str, pesan: str, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return jawab(native.JawabanGagal(kode=kode, pesan=pesan).model_dump(mode="json"), status_code, headers)


class DialekSimkah(sim.Dialect):
    """SIMKAH speaks forms (``status=...&kode=...``): refusals on the merits come in a
    200, protocol problems in a 400; a proxy answers HTML when SIMKAH is away."""

    def read(self, request: Request, raw: bytes, endpoints: Sequence[sim.Endpoint[Any]]) -> tuple[sim.Endpoint[Any], Any]:
        [endpoint] = endpoints
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != native.FORM:
            raise sim.Malformed(f"Content-Type harus {native.FORM}.", code=native.KodeGagal.FORMAT_TIDAK_VALID)
        try:
            fields = native.decode_form(raw)
        except native.FormatTidakValid as exc:
            raise sim.Malformed(f"Isi permintaan bukan form: {exc}.", code=native.KodeGagal.FORMAT_TIDAK_VALID) from None
        fields = {k: v for k, v in fields.items() if v.strip()}  # a blank field is an absent field
        if "id_transaksi" not in fields:
            raise sim.BadKey(missing=True)
        assert endpoint.model is not None
        try:
            return endpoint, endpoint.model.model_validate(fields)
        except ValidationError as exc:
            problems = exc.errors(include_input=False)
            if any(p["loc"] and p["loc"][0] == "id_transaksi" for p in problems):
                raise sim.BadKey(missing=False) from None
            missing = [str(p["loc"][0]) for p in problems if p["type"] == "missing"]
            if missing:
                raise sim.Malformed(f"Data wajib belum diisi: {', '.join(missing)}.", code=native.KodeGagal.DATA_TIDAK_LENGKAP) from None
            salah = invalid_fields(exc)
            raise sim.Malformed(f"Data tidak valid: {', '.join(salah)}.", code=native.KodeGagal.DATA_TIDAK_VALID) from None

    def down(self, retry_after: float) -> Response:
        headers = {"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after > 0 else None
        return HTMLResponse(HALAMAN_PEMELIHARAAN, status_code=503, headers=headers)

    def busy(self) -> Response:
        return gagal(native.KodeGagal.SISTEM_SIBUK, "Sistem sedang sibuk, silakan coba lagi.", 503, {"Retry-After": "2"})

    def bad_key(self, *, missing: bool) -> Response:
        return gagal(native.KodeGagal.ID_TRANSAKSI_WAJIB, "id_transaksi wajib diisi." if missing else "id_transaksi tidak valid.", 400)

    def malformed(self, problem: sim.Malformed) -> Response:
        return gagal(problem.code or native.KodeGagal.DATA_TIDAK_VALID, problem.message, 400)

    def refused(self, refusal: sim.Refusal) -> Response:
        return gagal(refusal.code, refusal.message, refusal.status or 200)

    def conflict(self, call: sim.Call[Any], existing: sim.LedgerEntry) -> Response:
        return gagal(native.KodeGagal.ID_TRANSAKSI_GANDA, "id_transaksi sudah dipakai untuk data lain.")

    def quota(self, call: sim.Call[Any], day: date) -> Response:
        return gagal(native.KodeGagal.KUOTA_HARIAN_PENUH, "Kuota pendaftaran hari ini sudah penuh.")

    def success(self, call: sim.Call[Any], body: dict[str, Any], *, replayed: bool) -> Response:
        return jawab(body, headers={"Idempotent-Replayed": "true"} if replayed else None)

    def dropped(self, call: sim.Call[Any]) -> Response:
        return HTMLResponse(HALAMAN_504, status_code=504)

    def garbled(self, call: sim.Call[Any], reply: Response) -> Response:
        """A PHP warning, then the answer cut short: not the protocol."""
        return HTMLResponse(PERINGATAN_PHP.format(skrip=call.endpoint.path.rsplit("/", 1)[-1]))


# --------------------------------------------------------------------------- app


class SimulatorSettings(BaseModel):
    """How one simulator instance starts; the knobs can change at runtime."""

    knobs: KemenagKnobs = Field(default_factory=KemenagKnobs)
    ledger_path: str = ":memory:"


def create_app(settings: SimulatorSettings | None = None, *, clock: sim.Clock | None = None) -> FastAPI:
    """A SIMKAH simulator with its own ledger, knobs and random.

    ``clock`` (aware datetimes) lets tests fix "today" and maintenance windows."""
    settings = settings or SimulatorSettings()
    runtime = KemenagRuntime.open(settings.knobs, ledger_path=settings.ledger_path, clock=clock)
    simulator = sim.Simulator(
        runtime,
        DialekSimkah(runtime),
        OPERASI,
        title="SIMKAH simulator (Kemenag KUA)",
        description="Form-encoded SIMKAH-like backend for mpp-hub tests.",
    )
    return simulator.app


def from_options(options: SimulatorOptions) -> FastAPI:
    """The app `mpp-hub simulator kemenag` (and the plug-in) starts; SIMKAH uses no shared
    secrets, so ``options.secrets`` is unused."""
    return create_app(SimulatorSettings(ledger_path=options.ledger_path))
