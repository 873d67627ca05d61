"""A stand-in for Imigrasi's passport web service: SOAP 1.1 over HTTP, status polled.

Why it exists: the Imigrasi adapter must be developed and fault-tested against
something that behaves like the real, foreign system -- XML envelopes, faults with
HTTP 500, an application that advances only over time and has to be polled, billing
that can expire, a counter with a daily quota, and its bad days. Talking to the real
SIMKIM from tests is neither possible nor desirable.

It imports nothing from ``hub`` (it imitates a system we do not control); the request
pipeline, knobs, apply-once ledger, clock and working-day calendar come from the SDK's
simulator scaffold (:mod:`adapters.sdk.testing.scaffold`) like every simulator's; the
SOAP envelope, faults and garbage are its dialect (:class:`DialekSoap`).

Native API (see :mod:`adapters.imigrasi.native` for the wire format)
=====================================================================

``POST /ws/PasporService``, operation chosen by the body element and ``SOAPAction``:

``AjukanPermohonan``
    Registers an application, at most once per ``IdTransaksi`` (the hub's step id):
    a repeat with the same body replays the stored answer byte for byte; with another
    body it is a ``soap:Client`` fault ``ID_TRANSAKSI_SUDAH_DIPAKAI``.
``CekStatusPermohonan``
    Reports where the application is. **Polls drive time**: each poll of an
    application counts, and after ``polls_per_stage`` polls in a stage it moves on:

    ``DITERIMA`` -> ``MENUNGGU_PEMBAYARAN`` -> ``DIPROSES`` -> ``SIAP_DIAMBIL`` -> ``SELESAI``

    so a stage is reported by ``polls_per_stage`` consecutive polls (the one that
    entered it included).
``BatalkanPermohonan``
    Withdraws the application registered under ``IdTransaksi`` if nothing has been
    paid (``DITERIMA``, ``MENUNGGU_PEMBAYARAN``, ``BERKAS_DIKEMBALIKAN`` ->
    ``DIBATALKAN``); otherwise answers the current status unchanged (PNBP is not
    refunded). Not a poll: it does not advance the application. Repeating it answers
    the same. An unknown ``IdTransaksi`` is a ``PERMOHONAN_TIDAK_DITEMUKAN`` fault and
    the key is closed (recorded in the ledger as ``BATAL_SEBELUM_DIAJUKAN``), so a
    submission arriving late with it is refused instead of applied.

Simulated business rules (deterministic, so tests can aim at them):

* **Service day**: the MPP Bukittinggi counter serves passports on Wednesdays
  [S:BKT-2026]; the interview (``JadwalKedatangan``) is the first Wednesday on or after
  the preferred date (or today, if that is in the past).
* **Quota**: ``daily_quota`` applications per *service day* (real: about 20 [S:SWL]);
  beyond it a ``soap:Client`` fault ``KUOTA_HABIS`` naming the day.
* **Old passport register**: for ``PENGGANTIAN``, an old passport number whose digits
  start with ``0`` (e.g. ``X0123456``) is not in the register: ``soap:Client`` fault
  ``PASPOR_LAMA_TIDAK_TERDAFTAR``. Refusals are not recorded, so a corrected retry
  with the same key can still apply.
* **Prevention list (cekal)**: an applicant whose NIK ends in ``99`` is on the list;
  the application is received but refused after the interview: ``DITOLAK`` with
  ``KodeAlasan`` ``CEKAL``.
* **Documents returned** (``BERKAS_DIKEMBALIKAN``, ``KodeAlasan``
  ``DOKUMEN_TIDAK_SESUAI``): for an applicant whose NIK ends in ``98`` the birth
  certificate's data (name, date of birth) do not match the NIK's population data, so
  an application with ``DokumenPendukung`` ``AKTA_KELAHIRAN`` has its documents
  returned at the interview; one with the marriage book or diploma goes through. The
  ``return_documents`` knob returns every application submitted while it is set. The
  application then waits (polls do not move it); the answer names the document in
  ``DokumenDikembalikan``. Checked after the prevention list.
* **10-year passport** (Permenkumham 18/2022 art. 2A(2)): only for an applicant aged 17
  or more on the day of the application (the birth date is the NIK's: digits 7-12,
  women's day + 40) or married (``SudahMenikah``); otherwise a ``soap:Client`` fault
  ``MASA_BERLAKU_TIDAK_DIIZINKAN`` (apply for 5 years instead).
* **Lost or damaged passport** (``PENGGANTIAN_HILANG`` needs ``NomorLaporanKehilangan``,
  ``PENGGANTIAN_RUSAK`` needs ``NomorPasporLama``): the interview is the examination
  (BAP, numbered ``BAP/AGM/<seq:06>/<year>``); the billing adds the charge
  (``BiayaBeban``) of Rp1,000,000 / Rp500,000 to the passport fee, none when
  ``KeadaanKahar`` (force majeure). A given old passport number must be in the register.
* **Migrant worker (PMI)**: a non-electronic 5-year passport (anything else is
  malformed) with ``NomorSKCK``, ``SKCKBerlakuSampai``, ``NegaraTujuan`` and
  ``NomorPerjanjianKerja``; an SKCK that expires before the interview day is a
  ``soap:Client`` fault ``SKCK_TIDAK_BERLAKU``. Tarif nol rupiah: no billing, so the
  application goes from ``DITERIMA`` straight to ``DIPROSES``.
* **Name**: ``NamaLengkap`` must match the service's XSD restriction ``POLA_NAMA``
  (letters, spaces, ``.,'-``; no digits): otherwise ``soap:Client`` fault
  ``PERMINTAAN_TIDAK_VALID``.
* **Fees** per PP 45/2024 (see ``native.TARIF``), billed through SIMPONI with a
  15-digit code starting with 8, payable for 7 days [V:SIMPONI].
* **Virtual calendar**: all dates derive from the interview day J, so answers are
  the same whenever they are polled: billing issued on J, pay before J + 7 days,
  paid on J, printed J + 4 working days (of the hub's working-day calendar: weekends,
  national holidays and cuti bersama skipped), collect before printing + 30 days,
  collected on the printing day, valid until printing + 5 or 10 years.

Knobs (``PUT /_sim/knobs``): the SDK's common ones -- ``latency_ms``; ``error_rate``
(``soap:Server`` fault ``SISTEM_SIBUK``, HTTP 500, with ``DetikCobaLagi``); ``down``
(``soap:Server`` fault ``SISTEM_TIDAK_TERSEDIA``, HTTP 500); ``drop_reply_after_apply``
(the operation is applied -- an application registered, a poll counted -- then the
gateway answers 504 with an HTML page); ``garble_rate`` (applied, then an HTTP 200
whose body is not a SOAP message); ``daily_quota``; ``seed`` -- plus Imigrasi's own:

* ``polls_per_stage`` (default 2): how many polls each stage lasts.
* ``unpaid``: applications submitted while set are never paid: the billing expires
  (``KEDALUWARSA``, ``KodeAlasan`` ``BILLING_KEDALUWARSA``) after ``polls_per_stage``
  polls of ``MENUNGGU_PEMBAYARAN``.
* ``uncollected``: applications submitted while set are never collected:
  ``KEDALUWARSA`` with ``TIDAK_DIAMBIL`` after ``polls_per_stage`` polls of
  ``SIAP_DIAMBIL`` (the real 30-day auto-cancel [S:PASPOR-30D]).
* ``return_documents``: applications submitted while set have their documents
  returned at the interview (``BERKAS_DIKEMBALIKAN``).
* ``forced_status``: when set, ``CekStatusPermohonan`` reports this status word
  instead of the real one -- an agency release that introduced a status the adapter
  has never seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from adapters.imigrasi import native
from adapters.sdk import testing as sim
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.testing.clock import WIB

__all__ = ["WIB", "ImigrasiKnobs", "create_app", "from_options"]

KANTOR: Final[str] = "Kantor Imigrasi Kelas II Non TPI Agam"
LOKASI: Final[str] = "Mal Pelayanan Publik Kota Bukittinggi"
KODE_KANTOR: Final[str] = "AGM"
#: Weekday of the passport counter at MPP Bukittinggi (Monday = 0): Wednesday [S:BKT-2026].
HARI_LAYANAN: Final[int] = 2
#: Ledger operation of a key closed by a cancellation that came before any submission.
OP_TUTUP: Final[str] = "BATAL_SEBELUM_DIAJUKAN"

#: Stages in order, and what each becomes after ``polls_per_stage`` polls.
_ALUR: Final[dict[native.StatusPermohonan, native.StatusPermohonan]] = {
    native.StatusPermohonan.DITERIMA: native.StatusPermohonan.MENUNGGU_PEMBAYARAN,
    native.StatusPermohonan.MENUNGGU_PEMBAYARAN: native.StatusPermohonan.DIPROSES,
    native.StatusPermohonan.DIPROSES: native.StatusPermohonan.SIAP_DIAMBIL,
    native.StatusPermohonan.SIAP_DIAMBIL: native.StatusPermohonan.SELESAI,
}

_KETERANGAN: Final[dict[native.StatusPermohonan, str]] = {
    native.StatusPermohonan.DITERIMA: "Permohonan diterima; silakan datang untuk wawancara dan foto sesuai jadwal.",
    native.StatusPermohonan.MENUNGGU_PEMBAYARAN: "Menunggu pembayaran PNBP melalui kode billing SIMPONI.",
    native.StatusPermohonan.DIPROSES: "Pembayaran diterima; paspor sedang diproses dan dicetak.",
    native.StatusPermohonan.SIAP_DIAMBIL: "Paspor selesai dicetak dan dapat diambil.",
    native.StatusPermohonan.SELESAI: "Paspor telah diambil oleh pemohon.",
    native.StatusPermohonan.DITOLAK: "Permohonan ditolak.",
    native.StatusPermohonan.KEDALUWARSA: "Permohonan kedaluwarsa.",
    native.StatusPermohonan.BERKAS_DIKEMBALIKAN: "Berkas dikembalikan saat wawancara; ajukan permohonan baru dengan dokumen yang sesuai.",
    native.StatusPermohonan.DIBATALKAN: "Permohonan dibatalkan atas permintaan pemohon.",
}
_KETERANGAN_TIDAK_DIBATALKAN: Final[str] = " Permohonan yang sudah dibayar tidak dapat dibatalkan (PNBP tidak dapat dikembalikan)."

_ALASAN: Final[dict[native.KodeAlasan, str]] = {
    native.KodeAlasan.CEKAL: "Pemohon tercantum dalam daftar pencegahan keimigrasian.",
    native.KodeAlasan.DOKUMEN_TIDAK_SESUAI: "Data dokumen pendukung tidak sesuai dengan data kependudukan.",
    native.KodeAlasan.BILLING_KEDALUWARSA: f"Kode billing tidak dibayar dalam {native.HARI_BAYAR} hari.",
    native.KodeAlasan.TIDAK_DIAMBIL: f"Paspor tidak diambil dalam {native.HARI_AMBIL} hari dan dibatalkan.",
}

_HTML_504: Final[bytes] = (
    b"<html><head><title>504 Gateway Time-out</title></head><body><center><h1>504 Gateway Time-out</h1></center></body></html>"
)


class ImigrasiKnobs(sim.Knobs):
    """The SDK's common knobs plus Imigrasi's own (see the module docstring)."""

    polls_per_stage: int = Field(default=2, ge=1, le=1000, description="Polls each stage of an application lasts.")
    unpaid: bool = Field(default=False, description="Applications submitted now are never paid: billing expires.")
    uncollected: bool = Field(default=False, description="Applications submitted now are never collected.")
    return_documents: bool = Field(default=False, description="Applications submitted now have their documents returned at the interview.")
    forced_status: str | None = Field(
        default=None, min_length=1, max_length=40, description="CekStatusPermohonan reports this status word instead."
    )


# ------------------------------------------------------------------ business rules


def jadwal_kedatangan(diinginkan: date, hari_ini: date) -> date:
    """First service day (Wednesday) on or after the preferred date, never in the past."""
    mulai = max(diinginkan, hari_ini)
    return mulai + timedelta(days=(HARI_LAYANAN - mulai.weekday()) % 7)


def paspor_lama_terdaftar(nomor: str) -> bool:
    """Simulated register of issued passports: numbers whose digits start with 0 are unknown."""
    angka = nomor.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return not angka.startswith("0")


def tercekal(nik: str) -> bool:
    """Simulated prevention list: NIKs ending in 99."""
    return nik.endswith("99")


def berkas_tidak_sesuai(nik: str, dokumen: native.DokumenPendukung) -> bool:
    """Simulated document check at the interview: for NIKs ending in 98 the birth
    certificate does not match the population data (another document does)."""
    return nik.endswith("98") and dokumen is native.DokumenPendukung.AKTA_KELAHIRAN


def alasan_berkas(dokumen: str) -> str:
    return (
        f"Data pada dokumen pendukung {dokumen} (nama/tanggal lahir) tidak sesuai dengan data kependudukan NIK pemohon; "
        "bawa dokumen pendukung lain yang sesuai (buku nikah atau ijazah) atau perbaiki data kependudukan."
    )


def tanggal_lahir(nik: str, pada: date) -> date | None:
    """The birth date a NIK encodes (DDMMYY at digits 7-12; a woman's day + 40); the
    century is the one that does not put it in the future. ``None`` if not a date."""
    hari, bulan, tahun = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    try:
        lahir = date(2000 + tahun, bulan, hari - 40 if hari > 40 else hari)
        return lahir if lahir <= pada else lahir.replace(year=1900 + tahun)
    except ValueError:
        return None


def usia(nik: str, pada: date) -> int | None:
    lahir = tanggal_lahir(nik, pada)
    if lahir is None:
        return None
    return pada.year - lahir.year - ((pada.month, pada.day) < (lahir.month, lahir.day))


def ntpn(key: str) -> str:
    """NTPN (proof of payment): 16 upper-case hex characters, stable per key."""
    return hashlib.sha256(f"ntpn|{key}".encode()).hexdigest()[:16].upper()


def nomor_paspor(key: str, jenis: native.JenisPaspor) -> str:
    """Passport number: ``E`` + 7 digits for electronic, ``X`` + 7 digits otherwise [I]."""
    return ("E" if jenis is native.JenisPaspor.ELEKTRONIK else "X") + sim.stable_digits("paspor", key, length=7)


def majukan(keadaan: dict[str, Any], polls_per_stage: int) -> dict[str, Any]:
    """One poll of an application: count it, and move to the next stage when due."""
    tahap = native.StatusPermohonan(keadaan["tahap"])
    if tahap.akhir or tahap is native.StatusPermohonan.BERKAS_DIKEMBALIKAN:  # the latter waits for the applicant
        return keadaan
    baru = {**keadaan, "cek": int(keadaan.get("cek", 0)) + 1, "total_cek": int(keadaan.get("total_cek", 0)) + 1}
    if baru["cek"] < polls_per_stage:
        return baru
    if tahap is native.StatusPermohonan.DITERIMA and baru["cekal"]:
        berikut, alasan = native.StatusPermohonan.DITOLAK, native.KodeAlasan.CEKAL
    elif tahap is native.StatusPermohonan.DITERIMA and baru.get("dikembalikan"):
        berikut, alasan = native.StatusPermohonan.BERKAS_DIKEMBALIKAN, native.KodeAlasan.DOKUMEN_TIDAK_SESUAI
    elif tahap is native.StatusPermohonan.DITERIMA and not int(baru["tarif"]):
        berikut, alasan = native.StatusPermohonan.DIPROSES, None  # tarif nol rupiah: nothing to pay
    elif tahap is native.StatusPermohonan.MENUNGGU_PEMBAYARAN and baru["tidak_bayar"]:
        berikut, alasan = native.StatusPermohonan.KEDALUWARSA, native.KodeAlasan.BILLING_KEDALUWARSA
    elif tahap is native.StatusPermohonan.SIAP_DIAMBIL and baru["tidak_ambil"]:
        berikut, alasan = native.StatusPermohonan.KEDALUWARSA, native.KodeAlasan.TIDAK_DIAMBIL
    else:
        berikut, alasan = _ALUR[tahap], None
    baru.update(tahap=berikut.value, cek=0, alasan=alasan.value if alasan else None, tahap_sebelum=tahap.value)
    return baru


_URUTAN: Final[list[native.StatusPermohonan]] = [
    native.StatusPermohonan.DITERIMA,
    native.StatusPermohonan.MENUNGGU_PEMBAYARAN,
    native.StatusPermohonan.DIPROSES,
    native.StatusPermohonan.SIAP_DIAMBIL,
    native.StatusPermohonan.SELESAI,
]


def status_untuk(key: str, hasil: native.HasilPengajuan, keadaan: dict[str, Any], kalender: sim.SimClock) -> native.StatusPermohonanPaspor:
    """The ``CekStatusPermohonanResponse`` for an application's current state."""
    tahap = native.StatusPermohonan(keadaan["tahap"])
    # How far did it get? A refused or expired application keeps what it had reached.
    dicapai = native.StatusPermohonan(keadaan.get("tahap_sebelum") or tahap.value) if tahap not in _URUTAN else tahap
    langkah = _URUTAN.index(dicapai)
    jadwal = hasil.JadwalKedatangan
    jenis, masa = native.JenisPaspor(keadaan["jenis_paspor"]), int(keadaan["masa_berlaku"])
    terbit = kalender.add_working_days(jadwal, native.HARI_KERJA_PROSES)

    tagihan = None
    if langkah >= 1 and int(keadaan["tarif"]):
        dibayar = langkah >= 2
        tagihan = native.DataTagihan(
            KodeBilling=sim.pnbp_billing_code(key),
            JumlahTagihan=int(keadaan["tarif"]),
            BatasPembayaran=jadwal + timedelta(days=native.HARI_BAYAR),
            TanggalBayar=jadwal if dibayar else None,
            NTPN=ntpn(key) if dibayar else None,
        )
    paspor = None
    if langkah >= 3:
        paspor = native.DataPaspor(
            NomorPaspor=nomor_paspor(key, jenis),
            JenisPaspor=jenis,
            MasaBerlaku=masa,
            TanggalTerbit=terbit,
            TanggalHabisBerlaku=sim.add_years(terbit, masa),
            BatasPengambilan=terbit + timedelta(days=native.HARI_AMBIL),
            TanggalDiambil=terbit if tahap is native.StatusPermohonan.SELESAI else None,
        )
    alasan = native.KodeAlasan(keadaan["alasan"]) if keadaan.get("alasan") else None
    teks_alasan = _ALASAN[alasan] if alasan else None
    dikembalikan = None
    if tahap is native.StatusPermohonan.BERKAS_DIKEMBALIKAN:
        dikembalikan = str(keadaan.get("dokumen", ""))
        teks_alasan = alasan_berkas(dikembalikan)
    return native.StatusPermohonanPaspor(
        NomorPermohonan=hasil.NomorPermohonan,
        Status=tahap.value,
        Keterangan=_KETERANGAN[tahap] + (f" {teks_alasan}" if teks_alasan else ""),
        JenisPermohonan=native.JenisPermohonan(keadaan["jenis_permohonan"]),
        JadwalKedatangan=jadwal,
        NomorPasporLama=keadaan.get("nomor_paspor_lama"),
        Tagihan=tagihan,
        PerkiraanSelesai=terbit if langkah == 2 else None,
        Paspor=paspor,
        KodeAlasan=alasan.value if alasan else None,
        Alasan=teks_alasan,
        DokumenDikembalikan=dikembalikan,
        NomorBAP=keadaan.get("nomor_bap"),
        BiayaBeban=keadaan.get("beban"),
    )


# ------------------------------------------------------------------ operations


def nama_dan_paspor_lama(permohonan: native.PermohonanPaspor) -> None:
    """What the service's XSD and form rules refuse whatever the ledger says."""
    if not native.POLA_NAMA.fullmatch(permohonan.Pemohon.NamaLengkap):
        raise sim.Malformed("Pemohon.NamaLengkap: hanya huruf, spasi dan tanda .,'- (maksimal 60 karakter) yang dapat dicetak di paspor.")
    jenis = permohonan.JenisPermohonan
    wajib = {
        native.JenisPermohonan.PENGGANTIAN: ("NomorPasporLama",),
        native.JenisPermohonan.PENGGANTIAN_RUSAK: ("NomorPasporLama",),
        native.JenisPermohonan.PENGGANTIAN_HILANG: ("NomorLaporanKehilangan",),
        native.JenisPermohonan.PMI: ("NomorSKCK", "SKCKBerlakuSampai", "NegaraTujuan", "NomorPerjanjianKerja"),
    }.get(jenis, ())
    if kosong := [nama for nama in wajib if getattr(permohonan, nama) is None]:
        raise sim.Malformed(f"{', '.join(kosong)} wajib diisi untuk permohonan {jenis.value}.")
    if jenis is native.JenisPermohonan.PMI and (permohonan.JenisPaspor, permohonan.MasaBerlaku) != (native.JenisPaspor.NON_ELEKTRONIK, 5):
        raise sim.Malformed("Paspor PMI tarif nol rupiah adalah paspor biasa nonelektronik dengan masa berlaku 5 tahun.")


def paspor_lama_harus_terdaftar(call: sim.Call[native.PermohonanPaspor]) -> None:
    lama = call.payload.NomorPasporLama
    if lama is not None and not paspor_lama_terdaftar(lama):
        raise sim.Refusal(native.KodeGalat.PASPOR_LAMA_TIDAK_TERDAFTAR, f"Paspor lama {lama} tidak terdaftar di SIMKIM.")


def masa_berlaku_sesuai_usia(call: sim.Call[native.PermohonanPaspor]) -> None:
    """A 10-year passport only from 17 or when married (Permenkumham 18/2022 art. 2A(2))."""
    p = call.payload
    umur = usia(p.Pemohon.NIK, call.today)
    if p.MasaBerlaku == 10 and not p.SudahMenikah and umur is not None and umur < native.USIA_PASPOR_10_TAHUN:
        raise sim.Refusal(
            native.KodeGalat.MASA_BERLAKU_TIDAK_DIIZINKAN,
            "Paspor masa berlaku 10 tahun hanya diberikan kepada WNI yang telah berusia 17 tahun atau sudah menikah "
            "(Permenkumham 18/2022 pasal 2A ayat 2); ajukan paspor 5 tahun.",
        )


def skck_berlaku_saat_wawancara(call: sim.Call[native.PermohonanPaspor]) -> None:
    p = call.payload
    if p.JenisPermohonan is native.JenisPermohonan.PMI and p.SKCKBerlakuSampai is not None and p.SKCKBerlakuSampai < _jadwal(call):
        raise sim.Refusal(native.KodeGalat.SKCK_TIDAK_BERLAKU, f"SKCK berlaku sampai {p.SKCKBerlakuSampai}, sebelum jadwal wawancara.")


def tarif_dan_beban(permohonan: native.PermohonanPaspor) -> tuple[int, int | None]:
    """The billing total and the charge for a lost/damaged passport (``None`` for other kinds)."""
    if permohonan.JenisPermohonan is native.JenisPermohonan.PMI:
        return 0, None
    tarif = native.TARIF[(permohonan.JenisPaspor, permohonan.MasaBerlaku)]
    if permohonan.JenisPermohonan not in native.BIAYA_BEBAN:
        return tarif, None
    beban = 0 if permohonan.KeadaanKahar else native.BIAYA_BEBAN[permohonan.JenisPermohonan]
    return tarif + beban, beban


def _jadwal(call: sim.Call[native.PermohonanPaspor]) -> date:
    return jadwal_kedatangan(call.payload.TanggalKedatanganDiinginkan, call.today)


def ajukan(call: sim.Call[native.PermohonanPaspor], urutan: int) -> sim.Produced:
    """Register the application: its number and interview day, and the state its polls advance."""
    permohonan, hari_ini, knobs = call.payload, call.today, call.knobs
    assert isinstance(knobs, ImigrasiKnobs)
    jadwal = _jadwal(call)
    hasil = native.HasilPengajuan(
        NomorPermohonan=f"{KODE_KANTOR}-{hari_ini:%Y%m%d}-{urutan:06d}",
        Status=native.StatusPermohonan.DITERIMA.value,
        TanggalPermohonan=hari_ini,
        JadwalKedatangan=jadwal,
        KantorImigrasi=KANTOR,
        LokasiLayanan=LOKASI,
    )
    nik, dokumen = permohonan.Pemohon.NIK, permohonan.DokumenPendukung
    tarif, beban = tarif_dan_beban(permohonan)
    keadaan = {
        "nomor_permohonan": hasil.NomorPermohonan,
        "tahap": native.StatusPermohonan.DITERIMA.value,
        "cek": 0,
        "total_cek": 0,
        "jenis_permohonan": permohonan.JenisPermohonan.value,
        "jenis_paspor": permohonan.JenisPaspor.value,
        "masa_berlaku": permohonan.MasaBerlaku,
        "tarif": tarif,
        "beban": beban,
        "nomor_bap": f"BAP/{KODE_KANTOR}/{urutan:06d}/{hari_ini.year}" if beban is not None else None,
        "nomor_paspor_lama": permohonan.NomorPasporLama,
        "nomor_laporan_kehilangan": permohonan.NomorLaporanKehilangan,
        "nomor_skck": permohonan.NomorSKCK,
        "cekal": tercekal(nik),
        "dokumen": dokumen.value,
        "dikembalikan": knobs.return_documents or berkas_tidak_sesuai(nik, dokumen),
        "tidak_bayar": knobs.unpaid,
        "tidak_ambil": knobs.uncollected,
        "alasan": None,
    }
    return sim.Produced(hasil.model_dump(mode="json"), keadaan)


class Layanan:
    """The two requests that act on a registered application: a status poll and a
    cancellation. Neither is a new application, so neither has a key of its own."""

    def __init__(self, ledger: sim.Ledger) -> None:
        self.ledger = ledger

    def cek_status(self, call: sim.Call[native.CekStatus]) -> dict[str, Any]:
        """Where the application is; each poll counts and may move it on."""
        nomor = call.payload.NomorPermohonan
        entry = self.ledger.find_by_state("nomor_permohonan", nomor)
        if entry is None or entry.operation != native.OP_AJUKAN:
            raise sim.Refusal(native.KodeGalat.PERMOHONAN_TIDAK_DITEMUKAN, f"Permohonan {nomor} tidak ditemukan.")
        knobs = call.knobs
        assert isinstance(knobs, ImigrasiKnobs)
        keadaan = majukan(entry.state, knobs.polls_per_stage)
        self.ledger.update_state(entry.key, keadaan)
        status = status_untuk(entry.key, native.HasilPengajuan.model_validate(entry.response), keadaan, call.clock)
        if knobs.forced_status:
            status = status.model_copy(update={"Status": knobs.forced_status})
        return status.model_dump(mode="json")

    def batalkan(self, call: sim.Call[native.BatalkanPermohonan]) -> dict[str, Any]:
        """Withdraw an application if nothing was paid; otherwise answer its status as it is."""
        pesan, key = call.payload, call.payload.IdTransaksi
        entry = self.ledger.get(key)
        if entry is None:
            # Close the key: an AjukanPermohonan still on its way must not apply after this.
            self.ledger.apply_once(
                key, operation=OP_TUTUP, subject=OP_TUTUP, fingerprint=OP_TUTUP,
                produce=lambda _: {"Status": native.StatusPermohonan.DIBATALKAN.value}, today=call.today, now=call.now,
            )  # fmt: skip
        if entry is None or entry.operation != native.OP_AJUKAN:
            raise sim.Refusal(native.KodeGalat.PERMOHONAN_TIDAK_DITEMUKAN, f"Tidak ada permohonan dengan IdTransaksi {key}.")
        hasil = native.HasilPengajuan.model_validate(entry.response)
        if pesan.NomorPermohonan is not None and pesan.NomorPermohonan != hasil.NomorPermohonan:
            raise sim.Malformed(f"NomorPermohonan {pesan.NomorPermohonan} bukan milik IdTransaksi {key}.")
        keadaan = dict(entry.state)
        tahap = native.StatusPermohonan(keadaan["tahap"])
        if tahap.dapat_dibatalkan:
            # tahap_sebelum keeps the last stage of the normal path reached (for the billing shown).
            sebelum = tahap.value if tahap in _URUTAN else keadaan.get("tahap_sebelum")
            keadaan.update(tahap=native.StatusPermohonan.DIBATALKAN.value, tahap_sebelum=sebelum, cek=0, alasan=None)
            self.ledger.update_state(key, keadaan)
        status = status_untuk(key, hasil, keadaan, call.clock)
        if not tahap.dapat_dibatalkan and not tahap.akhir:
            status = status.model_copy(update={"Keterangan": status.Keterangan + _KETERANGAN_TIDAK_DIBATALKAN})
        return status.model_dump(mode="json")

    def operasi(self) -> tuple[sim.Operation[Any] | sim.Query[Any], ...]:
        """One URL; the body element names the operation (the dialect reads it)."""
        return (
            sim.Operation(
                name=native.OP_AJUKAN,
                path=native.PATH_LAYANAN,
                model=native.PermohonanPaspor,
                key=lambda p: p.IdTransaksi,
                validate=nama_dan_paspor_lama,
                # Not personal data: what was applied for, for the ledger view.
                subject=lambda p: f"{p.JenisPermohonan.value}/{p.JenisPaspor.value}/{p.MasaBerlaku}",
                checks=(paspor_lama_harus_terdaftar, masa_berlaku_sesuai_usia, skck_berlaku_saat_wawancara),
                produce=ajukan,
                quota_day=_jadwal,  # the quota is per service day: ~20 applicants per Wednesday
                summary="AjukanPermohonan",
            ),
            sim.Query(
                name=native.OP_CEK_STATUS,
                path=native.PATH_LAYANAN,
                model=native.CekStatus,
                answer=self.cek_status,
                summary="CekStatusPermohonan",
            ),
            sim.Query(
                name=native.OP_BATALKAN,
                path=native.PATH_LAYANAN,
                model=native.BatalkanPermohonan,
                answer=self.batalkan,
                summary="BatalkanPermohonan",
            ),
        )


# ------------------------------------------------------------------ the protocol


def _xml(isi: bytes, status_code: int = 200) -> Response:
    return Response(content=isi, status_code=status_code, media_type=native.CONTENT_TYPE)


def galat(faultcode: str, kode: str, pesan: str, *, detik_coba_lagi: int | None = None) -> Response:
    """A SOAP fault: HTTP 500 whatever the faultcode, as SOAP 1.1 over HTTP requires."""
    detail = native.GalatLayanan(KodeGalat=kode, Pesan=pesan, DetikCobaLagi=detik_coba_lagi)
    return _xml(native.amplop_galat(faultcode, pesan, detail), status_code=500)


#: The body model of each operation's answer element.
_BALASAN: Final[dict[str, type[BaseModel]]] = {
    native.OP_AJUKAN: native.HasilPengajuan,
    native.OP_CEK_STATUS: native.StatusPermohonanPaspor,
    native.OP_BATALKAN: native.StatusPermohonanPaspor,
}


class DialekSoap(sim.Dialect):
    """SOAP 1.1: one URL, the operation named by the body element and ``SOAPAction``,
    answers in envelopes, every failure a fault with HTTP 500."""

    def read(self, request: Request, raw: bytes, endpoints: Sequence[sim.Endpoint[Any]]) -> tuple[sim.Endpoint[Any], Any]:
        try:
            isi = native.baca_amplop(raw)
        except native.XmlTidakValid as exc:
            raise sim.Malformed(f"Pesan SOAP tidak dapat dibaca: {exc}") from None
        namespace, _, operasi = isi.tag.partition("}")
        endpoint = next((e for e in endpoints if e.name == operasi), None)
        if namespace != "{" + native.NS_PASPOR or operasi not in native.OPERASI or endpoint is None:
            raise sim.Malformed(f"Operasi {isi.tag} tidak dikenal oleh layanan ini.", code=native.KodeGalat.OPERASI_TIDAK_DIKENAL)
        if request.headers.get("SOAPAction", "").strip() != native.soap_action(operasi):
            raise sim.Malformed(f"SOAPAction tidak sesuai dengan operasi {operasi}.")
        assert endpoint.model is not None
        try:
            return endpoint, endpoint.model.model_validate(native.isi_elemen(isi))
        except native.XmlTidakValid as exc:
            raise sim.Malformed(f"Pesan tidak sesuai skema: {exc}") from None
        except ValidationError as exc:
            raise sim.Malformed(f"Pesan tidak sesuai skema: {'; '.join(sim.problem_lines(exc))}") from None

    def down(self, retry_after: float) -> Response:
        return galat(
            native.FAULT_SERVER, native.KodeGalat.SISTEM_TIDAK_TERSEDIA, "Layanan paspor sedang tidak tersedia (pemeliharaan sistem)."
        )

    def busy(self) -> Response:
        return galat(native.FAULT_SERVER, native.KodeGalat.SISTEM_SIBUK, "Sistem sedang sibuk, silakan coba lagi.", detik_coba_lagi=1)

    def bad_key(self, *, missing: bool) -> Response:
        return galat(native.FAULT_CLIENT, native.KodeGalat.PERMINTAAN_TIDAK_VALID, "IdTransaksi wajib diisi.")

    def malformed(self, problem: sim.Malformed) -> Response:
        return galat(native.FAULT_CLIENT, problem.code or native.KodeGalat.PERMINTAAN_TIDAK_VALID, problem.message)

    def refused(self, refusal: sim.Refusal) -> Response:
        return galat(native.FAULT_CLIENT, refusal.code, refusal.message)

    def conflict(self, call: sim.Call[Any], existing: sim.LedgerEntry) -> Response:
        if existing.operation == OP_TUTUP:
            return galat(
                native.FAULT_CLIENT,
                native.KodeGalat.ID_TRANSAKSI_SUDAH_DIPAKAI,
                f"IdTransaksi {call.key} sudah dibatalkan dan tidak dapat dipakai lagi.",
            )
        return galat(
            native.FAULT_CLIENT, native.KodeGalat.ID_TRANSAKSI_SUDAH_DIPAKAI, f"IdTransaksi {call.key} sudah dipakai untuk permohonan lain."
        )

    def quota(self, call: sim.Call[Any], day: date) -> Response:
        return galat(
            native.FAULT_CLIENT,
            native.KodeGalat.KUOTA_HABIS,
            f"Kuota layanan paspor di {LOKASI} untuk tanggal {day.isoformat()} sudah habis.",
        )

    def success(self, call: sim.Call[Any], body: dict[str, Any], *, replayed: bool) -> Response:
        name = call.endpoint.name
        return _xml(native.amplop(native.elemen(native.respons(name), _BALASAN[name].model_validate(body))))

    def dropped(self, call: sim.Call[Any]) -> Response:
        return Response(_HTML_504, status_code=504, media_type="text/html")

    def garbled(self, call: sim.Call[Any], reply: Response) -> Response:
        """A body that is not a SOAP message: cut short, an HTML page, or JSON."""
        pilihan = self.runtime.rng.randrange(3)
        if pilihan == 0:
            isi = bytes(reply.body)
            return _xml(isi[: max(1, len(isi) // 2)])
        if pilihan == 1:
            return Response(b"<html><body><h1>Service Temporarily Unavailable</h1></body></html>", 200, media_type="text/html")
        return Response(b'{"status":"OK","data":null}', 200, media_type="application/json")


def create_app(knobs: ImigrasiKnobs | None = None, *, ledger_path: str = ":memory:", clock: sim.Clock | None = None) -> FastAPI:
    """Build a simulator app with its own knobs, random and ledger.

    ``clock`` (an aware-datetime factory) lets tests fix "today"; by default the system
    clock is used and dates are local (WIB)."""
    runtime = sim.SimulatorRuntime.open(knobs or ImigrasiKnobs(), ledger_path=ledger_path, clock=clock)
    simulator = sim.Simulator(
        runtime,
        DialekSoap(runtime),
        Layanan(runtime.ledger).operasi(),
        title="Imigrasi passport service simulator",
        description="Native SOAP 1.1 passport service (AjukanPermohonan, CekStatusPermohonan, BatalkanPermohonan) for mpp-hub adapter tests.",
    )
    return simulator.app


def from_options(options: SimulatorOptions) -> FastAPI:
    """The app `mpp-hub simulator imigrasi` (and the plug-in) starts; the passport service
    has no shared secrets, so ``options.secrets`` is unused."""
    return create_app(ledger_path=options.ledger_path)
