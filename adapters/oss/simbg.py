"""SIMBG, the building-approval (PBG) side of the DPMPTSP counter: its wire format and
the simulator's rules, kept apart from OSS's NIB registration.

Native API (behind the same ``user_key`` and Bearer token as OSS, JSON in OSS's
``{"status", "message", "data"}`` envelope):

``POST /simbg/api/v1/pbg``
    Body :class:`PermohonanPbg`; registers the application at most once per
    ``nomor_referensi`` and answers 201 with :class:`TandaTerimaPbg`.
``GET /simbg/api/v1/pbg/{nomor_registrasi}``
    Where the application is, :class:`KeadaanPbg`; each poll moves it one stage on.

Stages [S:PBG-DETIK]: ``VERIFIKASI_DOKUMEN`` (the secretariat checks the file) ->
``KONSULTASI_TPA`` (the expert team examines the plan; only on the consultation path)
-> ``SPPST_TERBIT`` (statement of compliance) -> ``RETRIBUSI_DITETAPKAN`` (the SKRD
billing; the simulator takes it as paid by the next poll [I]) -> ``PBG_TERBIT``.

The simulator's rules [I]: a residential building of at most 2 storeys to a known
prototype design (:data:`PROTOTIPE`) takes the prototype path, everything else the
consultation; the TPA refuses (``DITOLAK``, ``MELEBIHI_KETINGGIAN_MAKSIMUM``) a
building above :data:`LANTAI_MAKSIMUM` storeys; the retribution is the floor area times
:data:`TARIF_PER_M2` times the function's index.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, Final

from fastapi import Request
from pydantic import Field

from adapters.oss.native import KodeGalat, _Native
from adapters.sdk import testing as sim

PATH_PBG: Final[str] = "/simbg/api/v1/pbg"
PATH_STATUS_PBG: Final[str] = PATH_PBG + "/{nomor_registrasi}"
OPERASI_PBG: Final[str] = "PERMOHONAN_PBG"
OPERASI_STATUS_PBG: Final[str] = "STATUS_PBG"

#: The ministry's prototype designs of simple houses (Kepmen PUPR 2947/KPTS/M/2024) [S:PBG-PROTOTIPE].
PROTOTIPE: Final[frozenset[str]] = frozenset({"T22-A1", "T30-A1", "T30-A2", "T32-A1", "T32-A2", "T36-A1", "T36-A2", "T36-A3"})
LANTAI_PROTOTIPE: Final[int] = 2
#: The highest building the simulated zoning allows [I].
LANTAI_MAKSIMUM: Final[int] = 4
#: Rupiah per square metre of floor, before the function's index [I].
TARIF_PER_M2: Final[int] = 10_000


class FungsiBangunan(StrEnum):
    HUNIAN = "HUNIAN"
    USAHA = "USAHA"
    CAMPURAN = "CAMPURAN"


INDEKS_FUNGSI: Final[dict[FungsiBangunan, int]] = {FungsiBangunan.HUNIAN: 1, FungsiBangunan.USAHA: 3, FungsiBangunan.CAMPURAN: 2}


class JalurPbg(StrEnum):
    PROTOTIPE = "PROTOTIPE"
    KONSULTASI_TPA = "KONSULTASI_TPA"


class StatusPbg(StrEnum):
    VERIFIKASI_DOKUMEN = "VERIFIKASI_DOKUMEN"
    KONSULTASI_TPA = "KONSULTASI_TPA"
    SPPST_TERBIT = "SPPST_TERBIT"
    RETRIBUSI_DITETAPKAN = "RETRIBUSI_DITETAPKAN"
    PBG_TERBIT = "PBG_TERBIT"
    DITOLAK = "DITOLAK"


ALUR: Final[dict[JalurPbg, tuple[StatusPbg, ...]]] = {
    JalurPbg.PROTOTIPE: (StatusPbg.VERIFIKASI_DOKUMEN, StatusPbg.SPPST_TERBIT, StatusPbg.RETRIBUSI_DITETAPKAN, StatusPbg.PBG_TERBIT),
    JalurPbg.KONSULTASI_TPA: (
        StatusPbg.VERIFIKASI_DOKUMEN, StatusPbg.KONSULTASI_TPA, StatusPbg.SPPST_TERBIT, StatusPbg.RETRIBUSI_DITETAPKAN, StatusPbg.PBG_TERBIT,
    ),
}  # fmt: skip


class PermohonanPbg(_Native):
    nomor_referensi: str = Field(min_length=1, max_length=64)
    nik_pemohon: str = Field(pattern=r"^[0-9]{16}$")
    nama_pemohon: str = Field(min_length=1, max_length=100)
    fungsi_bangunan: FungsiBangunan
    jumlah_lantai: int = Field(ge=1, le=100)
    luas_lantai: int = Field(ge=1, le=1_000_000)
    no_sertifikat_tanah: str = Field(min_length=1, max_length=100)
    kd_daerah: str = Field(pattern=r"^[0-9]{4}$")
    dokumen_rencana_teknis: str = Field(min_length=1, max_length=100)
    kode_prototipe: str | None = Field(default=None, min_length=1, max_length=100)


class TandaTerimaPbg(_Native):
    nomor_referensi: str
    nomor_registrasi: str
    status: StatusPbg


class KeadaanPbg(_Native):
    nomor_registrasi: str
    status: str  # a StatusPbg; kept open so the adapter sees (and refuses) a status it does not know
    jalur: JalurPbg
    keterangan: str
    nomor_sppst: str | None = None
    retribusi: int | None = Field(default=None, ge=0)
    kode_billing: str | None = None
    nomor_pbg: str | None = None
    tgl_terbit: date | None = None
    kode_tolak: str | None = None


# ------------------------------------------------------------------ the simulator's rules


def jalur_untuk(permohonan: PermohonanPbg) -> JalurPbg:
    sederhana = permohonan.fungsi_bangunan is FungsiBangunan.HUNIAN and permohonan.jumlah_lantai <= LANTAI_PROTOTIPE
    return JalurPbg.PROTOTIPE if sederhana and permohonan.kode_prototipe in PROTOTIPE else JalurPbg.KONSULTASI_TPA


def daftarkan(call: sim.Call[PermohonanPbg], urutan: int) -> sim.Produced:
    """The receipt, and what the application's stages will find."""
    permohonan, key = call.payload, call.key
    assert key is not None
    nomor = f"PBG-{permohonan.kd_daerah}-{call.today:%Y%m%d}-{urutan:05d}"
    keadaan = {
        "nomor_registrasi": nomor,
        "status": StatusPbg.VERIFIKASI_DOKUMEN.value,
        "jalur": jalur_untuk(permohonan).value,
        "terlalu_tinggi": permohonan.jumlah_lantai > LANTAI_MAKSIMUM,
        "retribusi": permohonan.luas_lantai * TARIF_PER_M2 * INDEKS_FUNGSI[permohonan.fungsi_bangunan],
        "kd_daerah": permohonan.kd_daerah,
        "seri": sim.stable_digits("pbg", key, length=6),
    }
    tanda = TandaTerimaPbg(nomor_referensi=permohonan.nomor_referensi, nomor_registrasi=nomor, status=StatusPbg.VERIFIKASI_DOKUMEN)
    return sim.Produced(tanda.model_dump(mode="json"), keadaan)


def majukan(keadaan: dict[str, Any], hari: date) -> dict[str, Any]:
    """One poll: the next stage (or the TPA's refusal of a building too high)."""
    status = StatusPbg(keadaan["status"])
    if status in (StatusPbg.PBG_TERBIT, StatusPbg.DITOLAK):
        return keadaan
    if status is StatusPbg.KONSULTASI_TPA and keadaan["terlalu_tinggi"]:
        return {**keadaan, "status": StatusPbg.DITOLAK.value, "kode_tolak": "MELEBIHI_KETINGGIAN_MAKSIMUM"}
    alur = ALUR[JalurPbg(keadaan["jalur"])]
    berikut = alur[alur.index(status) + 1]
    return {**keadaan, "status": berikut.value, **({"tgl_terbit": hari.isoformat()} if berikut is StatusPbg.PBG_TERBIT else {})}


_KETERANGAN: Final[dict[StatusPbg, str]] = {
    StatusPbg.VERIFIKASI_DOKUMEN: "Pemeriksaan kelengkapan dokumen oleh sekretariat.",
    StatusPbg.KONSULTASI_TPA: "Konsultasi teknis: pemeriksaan rencana teknis oleh Tim Profesi Ahli.",
    StatusPbg.SPPST_TERBIT: "Surat Pernyataan Pemenuhan Standar Teknis terbit.",
    StatusPbg.RETRIBUSI_DITETAPKAN: "Retribusi PBG ditetapkan; silakan bayar sesuai SKRD.",
    StatusPbg.PBG_TERBIT: "Persetujuan Bangunan Gedung terbit.",
    StatusPbg.DITOLAK: f"Ditolak: bangunan melebihi {LANTAI_MAKSIMUM} lantai yang diizinkan tata ruang.",
}


def keadaan_untuk(keadaan: dict[str, Any]) -> KeadaanPbg:
    """The status answer: what the application has reached so far."""
    status = StatusPbg(keadaan["status"])
    jalur = JalurPbg(keadaan["jalur"])
    dicapai = ALUR[jalur].index(status) if status in ALUR[jalur] else 0

    def sesudah(tahap: StatusPbg) -> bool:
        return status is not StatusPbg.DITOLAK and dicapai >= ALUR[jalur].index(tahap)

    seri, daerah = keadaan["seri"], keadaan["kd_daerah"]
    return KeadaanPbg(
        nomor_registrasi=keadaan["nomor_registrasi"],
        status=status.value,
        jalur=jalur,
        keterangan=_KETERANGAN[status],
        nomor_sppst=f"SPPST/{daerah}/{seri}" if sesudah(StatusPbg.SPPST_TERBIT) else None,
        retribusi=keadaan["retribusi"] if sesudah(StatusPbg.RETRIBUSI_DITETAPKAN) else None,
        kode_billing=f"SKRD-{daerah}-{seri}" if sesudah(StatusPbg.RETRIBUSI_DITETAPKAN) else None,
        nomor_pbg=f"PBG-{daerah}-01-{seri}" if status is StatusPbg.PBG_TERBIT else None,
        tgl_terbit=date.fromisoformat(keadaan["tgl_terbit"]) if status is StatusPbg.PBG_TERBIT else None,
        kode_tolak=keadaan.get("kode_tolak"),
    )


class StatusPoll:
    """``GET .../pbg/{nomor_registrasi}``: each poll moves the application one stage on."""

    def __init__(self, runtime: sim.SimulatorRuntime) -> None:
        self.runtime = runtime

    def __call__(self, call: sim.Call[str]) -> dict[str, Any]:
        ledger = self.runtime.ledger
        entry = ledger.find_by_state("nomor_registrasi", call.payload)
        if entry is None:
            raise sim.Refusal(KodeGalat.TIDAK_DITEMUKAN, f"Permohonan PBG {call.payload[:40]} tidak ditemukan.", status=404)
        keadaan = majukan(entry.state, call.today)
        ledger.update_state(entry.key, keadaan)
        return keadaan_untuk(keadaan).model_dump(mode="json", exclude_none=True)


def _nomor_dari_path(request: Request, _: bytes) -> str:
    return str(request.path_params["nomor_registrasi"])


def operations(runtime: sim.SimulatorRuntime) -> tuple[sim.Endpoint[Any], ...]:
    """SIMBG's operations, served by the OSS simulator."""
    return (
        sim.Operation(name=OPERASI_PBG, path=PATH_PBG, model=PermohonanPbg, status=201, key=lambda p: p.nomor_referensi,
                      subject=lambda p: f"PBG/{p.fungsi_bangunan.value}", produce=daftarkan,
                      summary="Apply for a building approval (applied once per nomor_referensi)"),
        sim.Query(name=OPERASI_STATUS_PBG, path=PATH_STATUS_PBG, method="GET", read=_nomor_dari_path, answer=StatusPoll(runtime),
                  summary="Where a PBG application is now (each poll moves it one stage on)"),
    )  # fmt: skip
