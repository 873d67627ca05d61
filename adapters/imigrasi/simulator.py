"""A stand-in for Imigrasi's passport web service: SOAP 1.1 over HTTP, status polled.

Why it exists: the Imigrasi adapter must be developed and fault-tested against
something that behaves like the real, foreign system -- XML envelopes, faults with
HTTP 500, an application that advances only over time and has to be polled, billing
that can expire, a counter with a daily quota, and its bad days. Talking to the real
SIMKIM from tests is neither possible nor desirable.

It deliberately imports nothing from ``hub`` or ``schemas`` (it imitates a system we do
not control); it uses the SDK's simulator toolkit (knobs, apply-once ledger, control
endpoints) like every simulator.

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
* **Name**: ``NamaLengkap`` must match the service's XSD restriction ``POLA_NAMA``
  (letters, spaces, ``.,'-``; no digits): otherwise ``soap:Client`` fault
  ``PERMINTAAN_TIDAK_VALID``.
* **Fees** per PP 45/2024 (see ``native.TARIF``), billed through SIMPONI with a
  15-digit code starting with 8, payable for 7 days [V:SIMPONI].
* **Virtual calendar**: all dates derive from the interview day J, so answers are
  the same whenever they are polled: billing issued on J, pay before J + 7 days,
  paid on J, printed J + 4 working days (weekends skipped; public holidays are not
  modelled [I]), collect before printing + 30 days, collected on the printing day,
  valid until printing + 5 or 10 years.

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

import argparse
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Final

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import Field, ValidationError

from adapters.imigrasi.native import (
    CONTENT_TYPE,
    FAULT_CLIENT,
    FAULT_SERVER,
    HARI_AMBIL,
    HARI_BAYAR,
    HARI_KERJA_PROSES,
    NS_PASPOR,
    OP_AJUKAN,
    OP_BATALKAN,
    OP_CEK_STATUS,
    OPERASI,
    PATH_LAYANAN,
    POLA_NAMA,
    BatalkanPermohonan,
    CekStatus,
    DataPaspor,
    DataTagihan,
    DokumenPendukung,
    GalatLayanan,
    HasilPengajuan,
    JenisPaspor,
    JenisPermohonan,
    KodeAlasan,
    KodeGalat,
    PermohonanPaspor,
    StatusPermohonan,
    StatusPermohonanPaspor,
    TARIF,
    XmlTidakValid,
    amplop,
    amplop_galat,
    baca_amplop,
    elemen,
    isi_elemen,
    respons,
    soap_action,
)
from adapters.sdk.testing.simulation import Fault, Knobs, Ledger, Outcome, SimulatorRuntime, simulator_app

#: Western Indonesia Time: counters work on local days.
WIB: Final = timezone(timedelta(hours=7), "WIB")

KANTOR: Final[str] = "Kantor Imigrasi Kelas II Non TPI Agam"
LOKASI: Final[str] = "Mal Pelayanan Publik Kota Bukittinggi"
KODE_KANTOR: Final[str] = "AGM"
#: Weekday of the passport counter at MPP Bukittinggi (Monday = 0): Wednesday [S:BKT-2026].
HARI_LAYANAN: Final[int] = 2
#: Ledger operation of a key closed by a cancellation that came before any submission.
OP_TUTUP: Final[str] = "BATAL_SEBELUM_DIAJUKAN"

#: Stages in order, and what each becomes after ``polls_per_stage`` polls.
_ALUR: Final[dict[StatusPermohonan, StatusPermohonan]] = {
    StatusPermohonan.DITERIMA: StatusPermohonan.MENUNGGU_PEMBAYARAN,
    StatusPermohonan.MENUNGGU_PEMBAYARAN: StatusPermohonan.DIPROSES,
    StatusPermohonan.DIPROSES: StatusPermohonan.SIAP_DIAMBIL,
    StatusPermohonan.SIAP_DIAMBIL: StatusPermohonan.SELESAI,
}

_KETERANGAN: Final[dict[StatusPermohonan, str]] = {
    StatusPermohonan.DITERIMA: "Permohonan diterima; silakan datang untuk wawancara dan foto sesuai jadwal.",
    StatusPermohonan.MENUNGGU_PEMBAYARAN: "Menunggu pembayaran PNBP melalui kode billing SIMPONI.",
    StatusPermohonan.DIPROSES: "Pembayaran diterima; paspor sedang diproses dan dicetak.",
    StatusPermohonan.SIAP_DIAMBIL: "Paspor selesai dicetak dan dapat diambil.",
    StatusPermohonan.SELESAI: "Paspor telah diambil oleh pemohon.",
    StatusPermohonan.DITOLAK: "Permohonan ditolak.",
    StatusPermohonan.KEDALUWARSA: "Permohonan kedaluwarsa.",
    StatusPermohonan.BERKAS_DIKEMBALIKAN: "Berkas dikembalikan saat wawancara; ajukan permohonan baru dengan dokumen yang sesuai.",
    StatusPermohonan.DIBATALKAN: "Permohonan dibatalkan atas permintaan pemohon.",
}
_KETERANGAN_TIDAK_DIBATALKAN: Final[str] = " Permohonan yang sudah dibayar tidak dapat dibatalkan (PNBP tidak dapat dikembalikan)."

_ALASAN: Final[dict[KodeAlasan, str]] = {
    KodeAlasan.CEKAL: "Pemohon tercantum dalam daftar pencegahan keimigrasian.",
    KodeAlasan.DOKUMEN_TIDAK_SESUAI: "Data dokumen pendukung tidak sesuai dengan data kependudukan.",
    KodeAlasan.BILLING_KEDALUWARSA: f"Kode billing tidak dibayar dalam {HARI_BAYAR} hari.",
    KodeAlasan.TIDAK_DIAMBIL: f"Paspor tidak diambil dalam {HARI_AMBIL} hari dan dibatalkan.",
}

_HTML_504: Final[bytes] = (
    b"<html><head><title>504 Gateway Time-out</title></head>"
    b"<body><center><h1>504 Gateway Time-out</h1></center></body></html>"
)


class ImigrasiKnobs(Knobs):
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


def tambah_hari_kerja(mulai: date, hari: int) -> date:
    """``hari`` working days after ``mulai`` (Saturdays and Sundays skipped)."""
    tanggal = mulai
    while hari > 0:
        tanggal += timedelta(days=1)
        if tanggal.weekday() < 5:
            hari -= 1
    return tanggal


def tambah_tahun(tanggal: date, tahun: int) -> date:
    """Same calendar day ``tahun`` years later; 29 Feb becomes 28 Feb."""
    try:
        return tanggal.replace(year=tanggal.year + tahun)
    except ValueError:
        return tanggal.replace(year=tanggal.year + tahun, day=28)


def paspor_lama_terdaftar(nomor: str) -> bool:
    """Simulated register of issued passports: numbers whose digits start with 0 are unknown."""
    angka = nomor.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return not angka.startswith("0")


def tercekal(nik: str) -> bool:
    """Simulated prevention list: NIKs ending in 99."""
    return nik.endswith("99")


def berkas_tidak_sesuai(nik: str, dokumen: DokumenPendukung) -> bool:
    """Simulated document check at the interview: for NIKs ending in 98 the birth
    certificate does not match the population data (another document does)."""
    return nik.endswith("98") and dokumen is DokumenPendukung.AKTA_KELAHIRAN


def alasan_berkas(dokumen: str) -> str:
    return (
        f"Data pada dokumen pendukung {dokumen} (nama/tanggal lahir) tidak sesuai dengan data kependudukan NIK pemohon; "
        "bawa dokumen pendukung lain yang sesuai (buku nikah atau ijazah) atau perbaiki data kependudukan."
    )


def _angka(key: str, label: str, panjang: int) -> str:
    """A stable string of digits derived from the idempotency key (same key, same numbers)."""
    h = int.from_bytes(hashlib.sha256(f"{label}|{key}".encode()).digest()[:12], "big")
    return f"{h % 10**panjang:0{panjang}d}"


def kode_billing(key: str) -> str:
    """SIMPONI-style PNBP billing code: 15 digits starting with 8."""
    return "8" + _angka(key, "billing", 14)


def ntpn(key: str) -> str:
    """NTPN (proof of payment): 16 upper-case hex characters, stable per key."""
    return hashlib.sha256(f"ntpn|{key}".encode()).hexdigest()[:16].upper()


def nomor_paspor(key: str, jenis: JenisPaspor) -> str:
    """Passport number: ``E`` + 7 digits for electronic, ``X`` + 7 digits otherwise [I]."""
    return ("E" if jenis is JenisPaspor.ELEKTRONIK else "X") + _angka(key, "paspor", 7)


def sidik_jari(permohonan: PermohonanPaspor) -> str:
    """Fingerprint of a submission *after* parsing (the key itself excluded)."""
    kanonik = json.dumps(permohonan.model_dump(mode="json", exclude={"IdTransaksi"}), sort_keys=True)
    return hashlib.sha256(kanonik.encode()).hexdigest()


def majukan(keadaan: dict[str, Any], polls_per_stage: int) -> dict[str, Any]:
    """One poll of an application: count it, and move to the next stage when due."""
    tahap = StatusPermohonan(keadaan["tahap"])
    if tahap.akhir or tahap is StatusPermohonan.BERKAS_DIKEMBALIKAN:  # the latter waits for the applicant
        return keadaan
    baru = {**keadaan, "cek": int(keadaan.get("cek", 0)) + 1, "total_cek": int(keadaan.get("total_cek", 0)) + 1}
    if baru["cek"] < polls_per_stage:
        return baru
    if tahap is StatusPermohonan.DITERIMA and baru["cekal"]:
        berikut, alasan = StatusPermohonan.DITOLAK, KodeAlasan.CEKAL
    elif tahap is StatusPermohonan.DITERIMA and baru.get("dikembalikan"):
        berikut, alasan = StatusPermohonan.BERKAS_DIKEMBALIKAN, KodeAlasan.DOKUMEN_TIDAK_SESUAI
    elif tahap is StatusPermohonan.MENUNGGU_PEMBAYARAN and baru["tidak_bayar"]:
        berikut, alasan = StatusPermohonan.KEDALUWARSA, KodeAlasan.BILLING_KEDALUWARSA
    elif tahap is StatusPermohonan.SIAP_DIAMBIL and baru["tidak_ambil"]:
        berikut, alasan = StatusPermohonan.KEDALUWARSA, KodeAlasan.TIDAK_DIAMBIL
    else:
        berikut, alasan = _ALUR[tahap], None
    baru.update(tahap=berikut.value, cek=0, alasan=alasan.value if alasan else None, tahap_sebelum=tahap.value)
    return baru


_URUTAN: Final[list[StatusPermohonan]] = [
    StatusPermohonan.DITERIMA,
    StatusPermohonan.MENUNGGU_PEMBAYARAN,
    StatusPermohonan.DIPROSES,
    StatusPermohonan.SIAP_DIAMBIL,
    StatusPermohonan.SELESAI,
]


def status_untuk(key: str, hasil: HasilPengajuan, keadaan: dict[str, Any]) -> StatusPermohonanPaspor:
    """The ``CekStatusPermohonanResponse`` for an application's current state."""
    tahap = StatusPermohonan(keadaan["tahap"])
    # How far did it get? A refused or expired application keeps what it had reached.
    dicapai = StatusPermohonan(keadaan.get("tahap_sebelum") or tahap.value) if tahap not in _URUTAN else tahap
    langkah = _URUTAN.index(dicapai)
    jadwal = hasil.JadwalKedatangan
    jenis, masa = JenisPaspor(keadaan["jenis_paspor"]), int(keadaan["masa_berlaku"])
    terbit = tambah_hari_kerja(jadwal, HARI_KERJA_PROSES)

    tagihan = None
    if langkah >= 1:
        dibayar = langkah >= 2
        tagihan = DataTagihan(
            KodeBilling=kode_billing(key),
            JumlahTagihan=int(keadaan["tarif"]),
            BatasPembayaran=jadwal + timedelta(days=HARI_BAYAR),
            TanggalBayar=jadwal if dibayar else None,
            NTPN=ntpn(key) if dibayar else None,
        )
    paspor = None
    if langkah >= 3:
        paspor = DataPaspor(
            NomorPaspor=nomor_paspor(key, jenis),
            JenisPaspor=jenis,
            MasaBerlaku=masa,
            TanggalTerbit=terbit,
            TanggalHabisBerlaku=tambah_tahun(terbit, masa),
            BatasPengambilan=terbit + timedelta(days=HARI_AMBIL),
            TanggalDiambil=terbit if tahap is StatusPermohonan.SELESAI else None,
        )
    alasan = KodeAlasan(keadaan["alasan"]) if keadaan.get("alasan") else None
    teks_alasan = _ALASAN[alasan] if alasan else None
    dikembalikan = None
    if tahap is StatusPermohonan.BERKAS_DIKEMBALIKAN:
        dikembalikan = str(keadaan.get("dokumen", ""))
        teks_alasan = alasan_berkas(dikembalikan)
    return StatusPermohonanPaspor(
        NomorPermohonan=hasil.NomorPermohonan,
        Status=tahap.value,
        Keterangan=_KETERANGAN[tahap] + (f" {teks_alasan}" if teks_alasan else ""),
        JenisPermohonan=JenisPermohonan(keadaan["jenis_permohonan"]),
        JadwalKedatangan=jadwal,
        NomorPasporLama=keadaan.get("nomor_paspor_lama"),
        Tagihan=tagihan,
        PerkiraanSelesai=terbit if langkah == 2 else None,
        Paspor=paspor,
        KodeAlasan=alasan.value if alasan else None,
        Alasan=teks_alasan,
        DokumenDikembalikan=dikembalikan,
    )


# ------------------------------------------------------------------ responses


def _xml(isi: bytes, status_code: int = 200) -> Response:
    return Response(content=isi, status_code=status_code, media_type=CONTENT_TYPE)


def galat(faultcode: str, kode: KodeGalat, pesan: str, *, detik_coba_lagi: int | None = None) -> Response:
    """A SOAP fault: HTTP 500 whatever the faultcode, as SOAP 1.1 over HTTP requires."""
    detail = GalatLayanan(KodeGalat=kode.value, Pesan=pesan, DetikCobaLagi=detik_coba_lagi)
    return _xml(amplop_galat(faultcode, pesan, detail), status_code=500)


def _tidak_valid(pesan: str) -> Response:
    return galat(FAULT_CLIENT, KodeGalat.PERMINTAAN_TIDAK_VALID, pesan)


def _uraikan(exc: ValidationError) -> str:
    baris = []
    for err in exc.errors(include_input=False):
        lokasi = ".".join(str(p) for p in err.get("loc", ())) or "body"
        baris.append(f"{lokasi}: {err.get('msg', 'tidak valid')}")
    return "; ".join(baris)


class _Layanan:
    """State of one simulator instance: knobs, randomness, ledger, clock."""

    def __init__(self, runtime: SimulatorRuntime, clock: Callable[[], datetime]) -> None:
        self.runtime = runtime
        self.clock = clock
        self._nomor_ke_kunci: dict[str, str] = {}

    @property
    def knobs(self) -> ImigrasiKnobs:
        knobs = self.runtime.knobs
        assert isinstance(knobs, ImigrasiKnobs)
        return knobs

    def hari_ini(self) -> date:
        return self.clock().astimezone(WIB).date()

    def kunci_untuk(self, nomor: str) -> str | None:
        """The idempotency key of an application number (index rebuilt from the ledger on a miss)."""
        if nomor not in self._nomor_ke_kunci:
            for entry in self.runtime.ledger.entries():
                if entry.operation == OP_AJUKAN:
                    self._nomor_ke_kunci[str(entry.response["NomorPermohonan"])] = entry.key
        return self._nomor_ke_kunci.get(nomor)

    def garbled(self, isi: bytes) -> Response:
        """A body that is not a SOAP message: cut short, an HTML page, or JSON."""
        pilihan = self.runtime.rng.randrange(3)
        if pilihan == 0:
            return _xml(isi[: max(1, len(isi) // 2)])
        if pilihan == 1:
            return Response(b"<html><body><h1>Service Temporarily Unavailable</h1></body></html>", 200, media_type="text/html")
        return Response(b'{"status":"OK","data":null}', 200, media_type="application/json")

    def kirim(self, isi: bytes) -> Response:
        """Answer a request that was applied: maybe lose or garble the reply on purpose."""
        if self.runtime.drop_reply():
            return Response(_HTML_504, status_code=504, media_type="text/html")
        if self.runtime.garble_reply():
            return self.garbled(isi)
        return _xml(isi)

    # -------------------------------------------------------------- operations

    def ajukan(self, permohonan: PermohonanPaspor) -> Response:
        knobs, ledger, key = self.knobs, self.runtime.ledger, permohonan.IdTransaksi
        sidik = sidik_jari(permohonan)
        hari_ini = self.hari_ini()
        # Nothing below awaits, so the lookup, the rules and the insert are one atomic unit.
        lama = ledger.get(key)
        if lama is not None and lama.operation == OP_TUTUP:
            return galat(FAULT_CLIENT, KodeGalat.ID_TRANSAKSI_SUDAH_DIPAKAI, f"IdTransaksi {key} sudah dibatalkan dan tidak dapat dipakai lagi.")
        if lama is None:
            if not POLA_NAMA.fullmatch(permohonan.Pemohon.NamaLengkap):
                return _tidak_valid(
                    "Pemohon.NamaLengkap: hanya huruf, spasi dan tanda .,'- (maksimal 60 karakter) yang dapat dicetak di paspor."
                )
            if permohonan.JenisPermohonan is JenisPermohonan.PENGGANTIAN:
                if permohonan.NomorPasporLama is None:
                    return _tidak_valid("NomorPasporLama wajib diisi untuk permohonan PENGGANTIAN.")
                if not paspor_lama_terdaftar(permohonan.NomorPasporLama):
                    return galat(
                        FAULT_CLIENT,
                        KodeGalat.PASPOR_LAMA_TIDAK_TERDAFTAR,
                        f"Paspor lama {permohonan.NomorPasporLama} tidak terdaftar di SIMKIM.",
                    )
        jadwal = jadwal_kedatangan(permohonan.TanggalKedatanganDiinginkan, hari_ini)
        keadaan = {
            "tahap": StatusPermohonan.DITERIMA.value,
            "cek": 0,
            "total_cek": 0,
            "jenis_permohonan": permohonan.JenisPermohonan.value,
            "jenis_paspor": permohonan.JenisPaspor.value,
            "masa_berlaku": permohonan.MasaBerlaku,
            "tarif": TARIF[(permohonan.JenisPaspor, permohonan.MasaBerlaku)],
            "nomor_paspor_lama": permohonan.NomorPasporLama,
            "cekal": tercekal(permohonan.Pemohon.NIK),
            "dokumen": permohonan.DokumenPendukung.value,
            "dikembalikan": knobs.return_documents or berkas_tidak_sesuai(permohonan.Pemohon.NIK, permohonan.DokumenPendukung),
            "tidak_bayar": knobs.unpaid,
            "tidak_ambil": knobs.uncollected,
            "alasan": None,
        }

        def produce(urutan: int) -> dict[str, Any]:
            hasil = HasilPengajuan(
                NomorPermohonan=f"{KODE_KANTOR}-{hari_ini:%Y%m%d}-{urutan:06d}",
                Status=StatusPermohonan.DITERIMA.value,
                TanggalPermohonan=hari_ini,
                JadwalKedatangan=jadwal,
                KantorImigrasi=KANTOR,
                LokasiLayanan=LOKASI,
            )
            return hasil.model_dump(mode="json")

        result = ledger.apply_once(
            key,
            operation=OP_AJUKAN,
            # Not personal data: what was applied for, for the ledger view.
            subject=f"{permohonan.JenisPermohonan.value}/{permohonan.JenisPaspor.value}/{permohonan.MasaBerlaku}",
            fingerprint=sidik,
            produce=produce,
            today=jadwal,  # the quota is per service day: ~20 applicants per Wednesday
            quota=knobs.daily_quota,
            state=keadaan,
        )
        if result.outcome is Outcome.CONFLICT:
            return galat(
                FAULT_CLIENT, KodeGalat.ID_TRANSAKSI_SUDAH_DIPAKAI, f"IdTransaksi {key} sudah dipakai untuk permohonan lain."
            )
        if result.outcome is Outcome.QUOTA_EXCEEDED:
            return galat(
                FAULT_CLIENT,
                KodeGalat.KUOTA_HABIS,
                f"Kuota layanan paspor di {LOKASI} untuk tanggal {jadwal.isoformat()} sudah habis.",
            )
        assert result.entry is not None
        hasil = HasilPengajuan.model_validate(result.entry.response)
        self._nomor_ke_kunci[hasil.NomorPermohonan] = key
        isi = amplop(elemen(respons(OP_AJUKAN), hasil))
        if result.outcome is Outcome.REPLAYED:
            return _xml(isi)  # a replay is an answer already given once: never dropped or garbled
        return self.kirim(isi)

    def cek_status(self, cek: CekStatus) -> Response:
        key = self.kunci_untuk(cek.NomorPermohonan)
        entry = self.runtime.ledger.get(key) if key else None
        if key is None or entry is None:
            return galat(
                FAULT_CLIENT, KodeGalat.PERMOHONAN_TIDAK_DITEMUKAN, f"Permohonan {cek.NomorPermohonan} tidak ditemukan."
            )
        keadaan = majukan(entry.state, self.knobs.polls_per_stage)
        self.runtime.ledger.update_state(key, keadaan)
        status = status_untuk(key, HasilPengajuan.model_validate(entry.response), keadaan)
        if self.knobs.forced_status:
            status = status.model_copy(update={"Status": self.knobs.forced_status})
        return self.kirim(amplop(elemen(respons(OP_CEK_STATUS), status)))

    def batalkan(self, pesan: BatalkanPermohonan) -> Response:
        """Withdraw an application if nothing was paid; otherwise answer its status as it is."""
        ledger, key = self.runtime.ledger, pesan.IdTransaksi
        entry = ledger.get(key)
        if entry is None or entry.operation != OP_AJUKAN:
            if entry is None:
                # Close the key: an AjukanPermohonan still on its way must not apply after this.
                ledger.apply_once(
                    key, operation=OP_TUTUP, subject=OP_TUTUP, fingerprint=OP_TUTUP,
                    produce=lambda _: {"Status": StatusPermohonan.DIBATALKAN.value}, today=self.hari_ini(),
                )  # fmt: skip
            return galat(FAULT_CLIENT, KodeGalat.PERMOHONAN_TIDAK_DITEMUKAN, f"Tidak ada permohonan dengan IdTransaksi {key}.")
        hasil = HasilPengajuan.model_validate(entry.response)
        if pesan.NomorPermohonan is not None and pesan.NomorPermohonan != hasil.NomorPermohonan:
            return _tidak_valid(f"NomorPermohonan {pesan.NomorPermohonan} bukan milik IdTransaksi {key}.")
        keadaan = dict(entry.state)
        tahap = StatusPermohonan(keadaan["tahap"])
        if tahap.dapat_dibatalkan:
            # tahap_sebelum keeps the last stage of the normal path reached (for the billing shown).
            sebelum = tahap.value if tahap in _URUTAN else keadaan.get("tahap_sebelum")
            keadaan.update(tahap=StatusPermohonan.DIBATALKAN.value, tahap_sebelum=sebelum, cek=0, alasan=None)
            ledger.update_state(key, keadaan)
        status = status_untuk(key, hasil, keadaan)
        if not tahap.dapat_dibatalkan and not tahap.akhir:
            status = status.model_copy(update={"Keterangan": status.Keterangan + _KETERANGAN_TIDAK_DIBATALKAN})
        return self.kirim(amplop(elemen(respons(OP_BATALKAN), status)))


def _jam_sistem() -> datetime:
    return datetime.now(UTC)


def create_app(
    knobs: ImigrasiKnobs | None = None,
    *,
    ledger_path: str = ":memory:",
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """Build a simulator app with its own knobs, random and ledger.

    ``clock`` (an aware-datetime factory) lets tests fix "today"; by default the system
    clock is used and dates are local (WIB)."""
    runtime = SimulatorRuntime(knobs or ImigrasiKnobs(), Ledger(ledger_path))
    layanan = _Layanan(runtime, clock or _jam_sistem)

    app = simulator_app(runtime, title="Imigrasi passport service simulator", description="Native SOAP 1.1 passport service (AjukanPermohonan, CekStatusPermohonan, BatalkanPermohonan) for mpp-hub adapter tests.", state=layanan)

    @app.post(PATH_LAYANAN)
    async def pasporservice(request: Request) -> Response:
        """The SOAP endpoint: one URL, the operation named by the body and SOAPAction."""
        raw = await request.body()  # read first: a caller that gives up during latency is no error here
        fault = await runtime.gate()
        if fault is Fault.DOWN:
            return galat(FAULT_SERVER, KodeGalat.SISTEM_TIDAK_TERSEDIA, "Layanan paspor sedang tidak tersedia (pemeliharaan sistem).")
        if fault is Fault.BUSY:
            return galat(FAULT_SERVER, KodeGalat.SISTEM_SIBUK, "Sistem sedang sibuk, silakan coba lagi.", detik_coba_lagi=1)
        try:
            isi = baca_amplop(raw)
        except XmlTidakValid as exc:
            return _tidak_valid(f"Pesan SOAP tidak dapat dibaca: {exc}")
        namespace, _, operasi = isi.tag.partition("}")
        if namespace != "{" + NS_PASPOR or operasi not in OPERASI:
            return galat(FAULT_CLIENT, KodeGalat.OPERASI_TIDAK_DIKENAL, f"Operasi {isi.tag} tidak dikenal oleh layanan ini.")
        if request.headers.get("SOAPAction", "").strip() != soap_action(operasi):
            return _tidak_valid(f"SOAPAction tidak sesuai dengan operasi {operasi}.")
        try:
            data = isi_elemen(isi)
            if operasi == OP_AJUKAN:
                return layanan.ajukan(PermohonanPaspor.model_validate(data))
            if operasi == OP_BATALKAN:
                return layanan.batalkan(BatalkanPermohonan.model_validate(data))
            return layanan.cek_status(CekStatus.model_validate(data))
        except XmlTidakValid as exc:
            return _tidak_valid(f"Pesan tidak sesuai skema: {exc}")
        except ValidationError as exc:
            return _tidak_valid(f"Pesan tidak sesuai skema: {_uraikan(exc)}")

    return app


def main(argv: list[str] | None = None) -> None:
    """``python -m adapters.imigrasi.simulator --port 8103 --ledger /tmp/imigrasi.db``."""
    parser = argparse.ArgumentParser(description="Imigrasi passport service simulator (SOAP 1.1).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8103)
    parser.add_argument("--ledger", default=":memory:", help="SQLite file for the ledger (default in-memory).")
    parser.add_argument("--knobs", default="{}", help='Initial knobs as JSON, e.g. \'{"polls_per_stage": 1}\'.')
    args = parser.parse_args(argv)
    app = create_app(ImigrasiKnobs.model_validate(json.loads(args.knobs)), ledger_path=args.ledger)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
