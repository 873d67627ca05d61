"""A stand-in for DJP's backend (Coretax as seen from KPP Pratama Bukittinggi's MPP counter).

Why it exists: the DJP adapter must be developed and fault-tested against something
that behaves like the real, foreign system -- an OAuth2 token that expires or is
revoked under its feet, Indonesian field names, its own error shape, idempotent
writes, and its bad days. It imports nothing from ``hub``; the request pipeline,
knobs, apply-once ledger and clock come from the SDK's simulator scaffold
(:mod:`adapters.sdk.testing.scaffold`).

Native API
==========

``POST /oauth/token`` (RFC 6749 section 4.4, client credentials)
    Form body ``grant_type=client_credentials``; the client authenticates with HTTP
    Basic (``base64(urlencode(id):urlencode(secret))``, RFC 6749 section 2.3.1) *or*
    with ``client_id``/``client_secret`` form fields, never both. Answer
    ``{"access_token", "token_type": "Bearer", "expires_in", "scope"}`` with
    ``Cache-Control: no-store``. Errors per RFC 6749 section 5.2: 400
    ``invalid_request`` / ``unsupported_grant_type``, 401 ``invalid_client``.
    One client: id ``mpp-hub``, secret ``dev-djp-client-secret`` unless configured
    (``mpp-hub simulator djp --secret client_id=... --secret client_secret=...``).

Every ``/api/v1`` call needs ``Authorization: Bearer <token>``; a missing, unknown,
expired or revoked token gets 401 with ``WWW-Authenticate: Bearer realm="DJP",
error="invalid_token"`` (RFC 6750 section 3) and body ``{"status": "GAGAL", "kode":
"TOKEN_TIDAK_VALID" | "TOKEN_WAJIB", "pesan"}``.

``POST /api/v1/wajib-pajak/aktivasi`` (header ``X-Idempotency-Key``)
    Activate a NIK as NPWP. Body :class:`~adapters.djp.native.PermohonanAktivasi`;
    200 :class:`~adapters.djp.native.HasilAktivasi` with ``status: "AKTIF"``.
    Activating a NIK that is already active (under another key) is not an error:
    200 with ``aktivasi_baru: false`` and the original date and receipt.

``GET /api/v1/kswp/{npwp}?keperluan=...``
    A read, safe to repeat, needs no idempotency key and is never recorded.
    200 :class:`~adapters.djp.native.HasilKswp` with ``status`` ``VALID`` or
    ``TIDAK_VALID`` and the criteria checked.

``POST /api/v1/wajib-pajak/badan`` (header ``X-Idempotency-Key``)
    Register a business entity (NPWP badan). Body
    :class:`~adapters.djp.native.PermohonanNpwpBadan`; 200
    :class:`~adapters.djp.native.HasilNpwpBadan` with ``status: "TERDAFTAR"``, the
    16-digit NPWP (``0`` + ``01`` + 6 digits from the deed + Luhn check digit + KPP 202 +
    ``000``) and the head office's NITKU (NPWP + ``000000``). Refused: the person in
    charge is not one of the officers (422 ``PENANGGUNG_JAWAB_BUKAN_PENGURUS``), an
    officer's NIK does not match at Dukcapil (422 ``NIK_TIDAK_VALID``), the deed already
    has an NPWP under another key (409 ``BADAN_SUDAH_TERDAFTAR``).

``POST /api/v1/skf`` (header ``X-Idempotency-Key``)
    Request a tax clearance letter. Body :class:`~adapters.djp.native.PermohonanSkf`;
    201 :class:`~adapters.djp.native.HasilSkf` with ``status: "TERBIT"``, or 422
    ``SKF_KRITERIA_TIDAK_TERPENUHI`` whose ``rincian`` lists the unmet criteria.

Every API error: :class:`~adapters.djp.native.GalatDjp` ``{"status": "DITOLAK" |
"GAGAL", "kode", "pesan", "rincian"?}``; DITOLAK means refused on the merits.

Simulated business rules (deterministic, so tests can aim at them)
==================================================================

The taxpayer's *serial* is the NIK's last 4 digits (individuals) or the 6-digit
``BBBBBB`` of ``0 AA BBBBBB C DDD EEE`` (others). Its last two digits decide:

======  ===================================================================
``00``  not in the registers: Dukcapil does not know the NIK (activation ->
        422 ``NIK_TIDAK_VALID``); KSWP/SKF -> 404 ``NPWP_TIDAK_TERDAFTAR``
``91``  an annual return (SPT Tahunan) of the last 2 tax years is missing
``92``  VAT-registered (PKP) and a VAT return of the last 3 periods is missing
``93``  outstanding tax debt (no deferral or instalment permit)
``94``  under criminal tax investigation (penyidikan)
``95``  ``91`` and ``93`` together
``96``  NPWP non-efektif (dormant registration)
other   compliant
======  ===================================================================

* The Dukcapil match (activation) also refuses NIKs that cannot exist: province
  code outside 11-96, regency or district ``00``, impossible birth day (1-31, +40
  for women) or month, serial ``0000``. The name is not matched (the simulator
  has no population register).
* KSWP: VALID iff ``NPWP_AKTIF`` (not ``96``) and ``SPT_TAHUNAN_2_TAHUN`` (not
  ``91``/``95``) hold -- the two published grounds for TIDAK VALID.
* SKF: issued iff ``SPT_TAHUNAN_2_TAHUN``, ``SPT_MASA_PPN_3_MASA``,
  ``TIDAK_ADA_UTANG_PAJAK`` and ``TIDAK_DALAM_PENYIDIKAN`` hold (PER-8/PJ/2025);
  valid until the same day next month (clamped to the month's end).
* Tax years checked: the last two whose annual return is already due (individuals
  by 31 March, entities by 30 April of the next year, UU KUP art. 3(3)). VAT
  periods checked: the last three already due (end of the following month).
* KPP: entities keep the DDD of their NPWP; individuals by the regency of the NIK
  (1375 Bukittinggi and 1306 Agam -> 202, 1376 Payakumbuh and 1307 Lima Puluh Kota
  -> 204, 1371 Padang -> 201, else 202, the counter's own office) [I].
* Dates are WIB (UTC+7).

Idempotency: each ``X-Idempotency-Key`` is applied at most once (``Ledger``); a
repeat with the same body gets the stored answer with ``X-Idempotent-Replayed:
true``; another body -> 409 ``KUNCI_SUDAH_DIPAKAI``. Refusals are not recorded.

Knobs (``PUT /_sim/knobs``): the common ones (``down`` -> 503
``SISTEM_TIDAK_TERSEDIA``; ``latency_ms``; ``error_rate`` -> 503 ``SISTEM_SIBUK``
with ``Retry-After: 1`` before anything is applied; ``drop_reply_after_apply`` ->
apply, record, then 504 ``WAKTU_HABIS``; ``garble_rate`` -> apply, record, then a
200 HTML page from a web application firewall; ``daily_quota`` -> 429
``KUOTA_HABIS``; ``seed``) apply to the token endpoint (down/latency/error_rate)
and to the API; for KSWP, a read, drop and garble act on every answer. DJP's own:

* ``token_ttl_seconds`` (default 300): lifetime of tokens issued from now on.
* ``revoke_tokens``: a trigger; setting it true invalidates every token issued so
  far (as a key rotation or a security incident would) and it resets to false.
* ``status_override``: replaces ``status`` in every success answer, imitating a
  Coretax release that introduced a status the adapter does not know.

Control: ``/_sim/health``, ``/_sim/ledger``, ``/_sim/knobs`` (SDK) and
``GET /_sim/tokens`` -> ``{"issued", "active", "refused", "revoked"}`` (counts only,
never a token).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Final
from urllib.parse import parse_qs, unquote_plus

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from adapters.djp import DEV_OAUTH_CLIENT, native
from adapters.sdk import testing as sim
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.testing.clock import WIB
from adapters.sdk.testing.tokens import TokenStore

__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "WIB", "DjpKnobs", "KonfigurasiSimulator", "create_app", "from_options"]

OPERASI_AKTIVASI: Final[str] = "AKTIVASI_NPWP"
OPERASI_SKF: Final[str] = "PENERBITAN_SKF"
OPERASI_NPWP_BADAN: Final[str] = "PENDAFTARAN_NPWP_BADAN"
#: Legacy taxpayer-type digits of an entity's NPWP (AA in AA.BBB.BBB.C-DDD.EEE) [S:NPWP-STRUCT].
JENIS_WP_BADAN: Final[str] = "01"
OPERASI_KSWP: Final[str] = "KONFIRMASI_STATUS_WP"

#: The one OAuth client it knows by default: the hub's development client.
DEFAULT_CLIENT_ID: Final[str] = DEV_OAUTH_CLIENT["oauth_client_id"]
DEFAULT_CLIENT_SECRET: Final[str] = DEV_OAUTH_CLIENT["oauth_client_secret"]
#: Names accepted in ``SimulatorOptions.secrets`` (a typo must not silently fall back to a default).
NAMA_RAHASIA: Final[frozenset[str]] = frozenset({"client_id", "client_secret"})

MAX_PANJANG_KEY: Final[int] = 200
MAX_PANJANG_KEPERLUAN: Final[int] = 200
REALM: Final[str] = "DJP"

#: Individuals' KPP by the regency of the NIK [I]; anything else goes to the counter's office.
KPP_PER_KABKOTA: Final[dict[str, str]] = {"1375": "202", "1306": "202", "1376": "204", "1307": "204", "1371": "201"}

KRITERIA_KSWP: Final[tuple[native.KodeKriteria, ...]] = (native.KodeKriteria.NPWP_AKTIF, native.KodeKriteria.SPT_TAHUNAN_2_TAHUN)
KRITERIA_SKF: Final[tuple[native.KodeKriteria, ...]] = (
    native.KodeKriteria.SPT_TAHUNAN_2_TAHUN,
    native.KodeKriteria.SPT_MASA_PPN_3_MASA,
    native.KodeKriteria.TIDAK_ADA_UTANG_PAJAK,
    native.KodeKriteria.TIDAK_DALAM_PENYIDIKAN,
)

_KETERANGAN: Final[dict[native.KodeKriteria, tuple[str, str]]] = {
    # criterion: (met, not met)
    native.KodeKriteria.NPWP_AKTIF: ("NPWP terdaftar dan aktif.", "NPWP berstatus non-efektif."),
    native.KodeKriteria.SPT_TAHUNAN_2_TAHUN: (
        "SPT Tahunan 2 tahun pajak terakhir telah disampaikan.",
        "SPT Tahunan 2 tahun pajak terakhir belum lengkap disampaikan.",
    ),
    native.KodeKriteria.SPT_MASA_PPN_3_MASA: (
        "SPT Masa PPN 3 masa pajak terakhir telah disampaikan.",
        "SPT Masa PPN 3 masa pajak terakhir belum lengkap disampaikan.",
    ),
    native.KodeKriteria.TIDAK_ADA_UTANG_PAJAK: ("Tidak mempunyai utang pajak.", "Masih mempunyai utang pajak."),
    native.KodeKriteria.TIDAK_DALAM_PENYIDIKAN: (
        "Tidak sedang dalam penanganan tindak pidana perpajakan.",
        "Sedang dalam penanganan tindak pidana perpajakan.",
    ),
}

#: What a web application firewall in front of the API answers when it blocks a
#: request: HTTP 200, HTML, nothing of DJP's protocol.
HALAMAN_WAF: Final[str] = (
    "<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. "
    "Please consult with your administrator.<br><br>Your support ID is: {support_id}<br><br>"
    "<a href='javascript:history.back();'>[Go Back]</a></body></html>"
)


class DjpKnobs(sim.Knobs):
    """The SDK's common fault knobs plus DJP's own (token lifetime, revocation, status drift)."""

    token_ttl_seconds: int = Field(default=300, ge=1, le=86_400, description="Lifetime of tokens issued from now on.")
    revoke_tokens: bool = Field(default=False, description="Trigger: invalidate every token issued so far; resets to false.")
    status_override: str | None = Field(
        default=None, min_length=1, max_length=50, description="Replace 'status' in every success answer (unknown-status drills)."
    )


class KonfigurasiSimulator(BaseModel):
    """How one simulator instance starts: ledger file, its one OAuth client, initial knobs."""

    model_config = ConfigDict(extra="forbid")

    ledger_path: str = Field(default=":memory:", min_length=1)
    client_id: str = Field(default=DEFAULT_CLIENT_ID, min_length=1)
    client_secret: str = Field(default=DEFAULT_CLIENT_SECRET, min_length=1)
    knobs: DjpKnobs = Field(default_factory=DjpKnobs)

    @classmethod
    def dari_rahasia(cls, ledger_path: str, rahasia: dict[str, str]) -> KonfigurasiSimulator:
        """Build from ``SimulatorOptions.secrets``; unknown names are refused, not ignored."""
        unknown = sorted(set(rahasia) - NAMA_RAHASIA)
        if unknown:
            raise ValueError(f"unknown DJP simulator secret(s) {unknown}; known: {sorted(NAMA_RAHASIA)}")
        return cls(ledger_path=ledger_path, **rahasia)


# ------------------------------------------------------------------ business rules


@dataclass(frozen=True, slots=True)
class ProfilWajibPajak:
    """What DJP's registers say about one taxpayer (derived from the NPWP, see module doc)."""

    terdaftar: bool
    aktif: bool
    spt_tahunan_lengkap: bool
    spt_masa_ppn_lengkap: bool
    tanpa_utang_pajak: bool
    tanpa_penyidikan: bool

    def terpenuhi(self, kriteria: native.KodeKriteria) -> bool:
        return {
            native.KodeKriteria.NPWP_AKTIF: self.aktif,
            native.KodeKriteria.SPT_TAHUNAN_2_TAHUN: self.spt_tahunan_lengkap,
            native.KodeKriteria.SPT_MASA_PPN_3_MASA: self.spt_masa_ppn_lengkap,
            native.KodeKriteria.TIDAK_ADA_UTANG_PAJAK: self.tanpa_utang_pajak,
            native.KodeKriteria.TIDAK_DALAM_PENYIDIKAN: self.tanpa_penyidikan,
        }[kriteria]


def orang_pribadi(npwp: str) -> bool:
    """Resident individuals' NPWP is their NIK, which never starts with 0 (no province 0x)."""
    return not npwp.startswith("0")


def serial_wajib_pajak(npwp: str) -> str:
    """NIK serial (last 4 digits) or the legacy BBBBBB serial of ``0 AA BBBBBB C DDD EEE``."""
    return npwp[12:16] if orang_pribadi(npwp) else npwp[3:9]


def profil_wajib_pajak(npwp: str) -> ProfilWajibPajak:
    akhiran = serial_wajib_pajak(npwp)[-2:]
    return ProfilWajibPajak(
        terdaftar=akhiran != "00",
        aktif=akhiran != "96",
        spt_tahunan_lengkap=akhiran not in ("91", "95"),
        spt_masa_ppn_lengkap=akhiran != "92",
        tanpa_utang_pajak=akhiran not in ("93", "95"),
        tanpa_penyidikan=akhiran != "94",
    )


def nik_padan(nik: str) -> bool:
    """Simulated Dukcapil match: the NIK could exist and is in the population register."""
    if not re.fullmatch(r"[0-9]{16}", nik):
        return False
    province, regency, district = int(nik[0:2]), nik[2:4], nik[4:6]
    day, month, serial = int(nik[6:8]), int(nik[8:10]), nik[12:16]
    if day > 40:
        day -= 40
    return (
        11 <= province <= 96
        and regency != "00"
        and district != "00"
        and 1 <= day <= 31
        and 1 <= month <= 12
        and serial != "0000"
        and profil_wajib_pajak(nik).terdaftar
    )


def kode_kpp(npwp: str) -> str:
    """Entities keep the KPP (DDD) of their NPWP; individuals go by their NIK's regency."""
    if not orang_pribadi(npwp):
        return npwp[10:13]
    return KPP_PER_KABKOTA.get(npwp[:4], native.KODE_KPP_BUKITTINGGI)


def nama_kpp(kode: str) -> str:
    return native.NAMA_KPP.get(kode, f"KPP {kode}")


def tahun_pajak_diperiksa(npwp: str, today: date) -> list[int]:
    """The last two tax years whose annual return is already due (UU KUP art. 3(3):
    3 months after the year for individuals, 4 months for entities)."""
    batas = date(today.year, 3, 31) if orang_pribadi(npwp) else date(today.year, 4, 30)
    last = today.year - 1 if today > batas else today.year - 2
    return [last - 1, last]


def masa_ppn_diperiksa(today: date) -> list[str]:
    """The last three VAT periods already due (return due by the end of the next month)."""
    periods = []
    year, month = today.year, today.month
    for back in (4, 3, 2):
        m = month - back
        y = year
        while m < 1:
            m += 12
            y -= 1
        periods.append(f"{y:04d}-{m:02d}")
    return periods


def subjek(npwp: str) -> str:
    """Ledger subject: a stable pseudonym, because a NIK is personal data."""
    return "wp:" + hashlib.sha256(npwp.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------- OAuth2


def galat_oauth(status_code: int, error: str, description: str, *, basic: bool = False) -> JSONResponse:
    """RFC 6749 section 5.2 error; a failed HTTP Basic authentication also names the scheme."""
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status_code == 401 and basic:
        headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
    return JSONResponse({"error": error, "error_description": description}, status_code=status_code, headers=headers)


# -------------------------------------------------------------------------- tokens


def _kredensial_basic(header: str) -> tuple[str, str] | None:
    """``Basic base64(urlencode(id):urlencode(secret))`` -> (id, secret), or None if malformed."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return unquote_plus(client_id), unquote_plus(secret)


def _sama(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


# ------------------------------------------------------------------ operations


def nik_harus_padan(call: sim.Call[native.PermohonanAktivasi]) -> None:
    if not nik_padan(call.payload.nik):
        raise sim.Refusal(native.KodeGalat.NIK_TIDAK_VALID, "NIK tidak padan dengan data kependudukan (Dukcapil).", status=422)


def aktivasi(ledger: sim.Ledger) -> Callable[[sim.Call[native.PermohonanAktivasi], int], sim.Produced]:
    """Activate a NIK as NPWP; one already active (under another key) answers with its
    original date and receipt, ``aktivasi_baru`` false."""

    def produce(call: sim.Call[native.PermohonanAktivasi], sequence: int) -> sim.Produced:
        nik = call.payload.nik
        kpp = kode_kpp(nik)
        for entry in ledger.entries():
            if entry.operation == OPERASI_AKTIVASI and entry.subject == subjek(nik):
                return sim.Produced(
                    {**entry.response, "status": native.StatusAktivasi.AKTIF.value, "aktivasi_baru": False}, {"kode_kpp": kpp}
                )
        return sim.Produced(
            native.HasilAktivasi(
                status=native.StatusAktivasi.AKTIF,
                npwp=nik,
                tanggal_aktivasi=call.today,
                kode_kpp=kpp,
                nama_kpp=nama_kpp(kpp),
                aktivasi_baru=True,
                nomor_tanda_terima=f"BPS-{kpp}-{call.now:%Y%m%d}-{sequence:06d}",
            ).model_dump(mode="json"),
            {"kode_kpp": kpp},
        )

    return produce


def _terdaftar(npwp: str) -> ProfilWajibPajak:
    profil = profil_wajib_pajak(npwp)
    if not profil.terdaftar:
        raise sim.Refusal(native.KodeGalat.NPWP_TIDAK_TERDAFTAR, "NPWP tidak terdaftar.", status=404)
    return profil


def skf_memenuhi_kriteria(call: sim.Call[native.PermohonanSkf]) -> None:
    profil = _terdaftar(call.payload.npwp)
    tidak_terpenuhi = [k.value for k in KRITERIA_SKF if not profil.terpenuhi(k)]
    if tidak_terpenuhi:
        raise sim.Refusal(
            native.KodeGalat.SKF_KRITERIA_TIDAK_TERPENUHI,
            "Permohonan SKF tidak dapat diproses: " + " ".join(_KETERANGAN[native.KodeKriteria(k)][1] for k in tidak_terpenuhi),
            status=422,
            details=tidak_terpenuhi,
        )


def terbitkan_skf(call: sim.Call[native.PermohonanSkf], sequence: int) -> sim.Produced:
    npwp, today = call.payload.npwp, call.today
    kpp = kode_kpp(npwp)
    skf = native.HasilSkf(
        status=native.StatusSkf.TERBIT,
        nomor_skf=f"KET-{sequence:05d}/SKF/KPP.{kpp}/{today.year}",
        npwp=npwp,
        kode_kpp=kpp,
        tanggal_terbit=today,
        berlaku_sampai=sim.add_months(today, 1),
        tahun_pajak_diperiksa=tahun_pajak_diperiksa(npwp, today),
        masa_ppn_diperiksa=masa_ppn_diperiksa(today),
    )
    return sim.Produced(skf.model_dump(mode="json"), {"kode_kpp": kpp})


def cek_luhn(angka: str) -> str:
    """The Luhn check digit DJP puts after ``AABBBBBB`` (C in AA.BBB.BBB.C-DDD.EEE)."""
    total = 0
    for posisi, huruf in enumerate(reversed(angka)):
        digit = int(huruf) * (2 if posisi % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return str((10 - total % 10) % 10)


def npwp_badan(nomor_akta: str, kpp: str) -> str:
    """A new entity's 16-digit NPWP: ``0`` + AA BBBBBB C DDD 000, serial derived from the deed."""
    awal = JENIS_WP_BADAN + sim.stable_digits("npwp-badan", nomor_akta, length=6)
    return "0" + awal + cek_luhn(awal) + kpp + "000"


def subjek_badan(permohonan: native.PermohonanNpwpBadan) -> str:
    """Ledger subject: the deed (an entity's deed is public, not personal data)."""
    return f"akta:{permohonan.nomor_akta}/{permohonan.tanggal_akta.isoformat()}"


def penanggung_jawab_pengurus(call: sim.Call[native.PermohonanNpwpBadan]) -> None:
    p = call.payload
    if p.nik_penanggung_jawab not in {pengurus.nik for pengurus in p.pengurus}:
        raise sim.Refusal(native.KodeGalat.PENANGGUNG_JAWAB_BUKAN_PENGURUS, "Penanggung jawab harus salah satu pengurus badan.", status=422)
    if tidak_padan := [pengurus.jabatan for pengurus in p.pengurus if not nik_padan(pengurus.nik)]:
        raise sim.Refusal(
            native.KodeGalat.NIK_TIDAK_VALID, f"NIK pengurus tidak padan dengan data kependudukan: {', '.join(tidak_padan)}.", status=422
        )


def badan_belum_terdaftar(ledger: sim.Ledger) -> Callable[[sim.Call[native.PermohonanNpwpBadan]], None]:
    """One deed, one NPWP: a deed registered under another key is refused (409)."""

    def check(call: sim.Call[native.PermohonanNpwpBadan]) -> None:
        subjek_ini = subjek_badan(call.payload)
        if any(e.operation == OPERASI_NPWP_BADAN and e.subject == subjek_ini and e.key != call.key for e in ledger.entries()):
            raise sim.Refusal(native.KodeGalat.BADAN_SUDAH_TERDAFTAR, "Badan dengan akta ini sudah memiliki NPWP.", status=409)

    return check


def daftarkan_badan(call: sim.Call[native.PermohonanNpwpBadan], sequence: int) -> sim.Produced:
    """Register the entity at the counter's own office (KPP Pratama Bukittinggi) [I]."""
    p, kpp = call.payload, native.KODE_KPP_BUKITTINGGI
    npwp = npwp_badan(p.nomor_akta, kpp)
    hasil = native.HasilNpwpBadan(
        status=native.StatusPendaftaran.TERDAFTAR,
        npwp=npwp,
        nitku=npwp + "000000",
        nama_badan=p.nama_badan,
        tanggal_terdaftar=call.today,
        kode_kpp=kpp,
        nama_kpp=nama_kpp(kpp),
        nomor_tanda_terima=f"BPS-{kpp}-{call.now:%Y%m%d}-{sequence:06d}",
    )
    return sim.Produced(hasil.model_dump(mode="json"), {"kode_kpp": kpp})


@dataclass(frozen=True, slots=True)
class PermintaanKswp:
    npwp: str
    keperluan: str


def baca_kswp(request: Request, _: bytes) -> PermintaanKswp:
    npwp = str(request.path_params["npwp"])
    keperluan = request.query_params.get("keperluan", "").strip()
    masalah = []
    if not re.fullmatch(native.POLA_NPWP, npwp):
        masalah.append("npwp: harus 16 digit")
    if not keperluan or len(keperluan) > MAX_PANJANG_KEPERLUAN:
        masalah.append(f"keperluan: wajib diisi, maksimal {MAX_PANJANG_KEPERLUAN} karakter")
    if masalah:
        raise sim.Malformed("Data permintaan tidak valid.", masalah)
    return PermintaanKswp(npwp, keperluan)


def konfirmasi_kswp(call: sim.Call[PermintaanKswp]) -> dict[str, Any]:
    """Taxpayer status confirmation: VALID / TIDAK_VALID with the criteria checked (a
    read: nothing is applied, so drop and garble act on every answer)."""
    npwp = call.payload.npwp
    profil = _terdaftar(npwp)
    kriteria = [
        native.KriteriaHasil(kode=k.value, terpenuhi=profil.terpenuhi(k), keterangan=_KETERANGAN[k][0 if profil.terpenuhi(k) else 1])
        for k in KRITERIA_KSWP
    ]
    return native.HasilKswp(
        status=native.StatusKswp.VALID if all(k.terpenuhi for k in kriteria) else native.StatusKswp.TIDAK_VALID,
        npwp=npwp,
        keperluan=call.payload.keperluan,
        kriteria=kriteria,
        tahun_pajak_diperiksa=tahun_pajak_diperiksa(npwp, call.today),
        waktu_konfirmasi=call.now.replace(microsecond=0),
    ).model_dump(mode="json")


def operasi(ledger: sim.Ledger) -> tuple[sim.Operation[Any] | sim.Query[Any], ...]:
    """The ledger subject of an activation or an SKF is a pseudonym of the NPWP, never the NIK itself."""
    return (
        sim.Operation(name=OPERASI_AKTIVASI, path=native.PATH_AKTIVASI, model=native.PermohonanAktivasi, subject=lambda p: subjek(p.nik),
                      checks=(nik_harus_padan,), produce=aktivasi(ledger),
                      summary="Activate a NIK as NPWP after the Dukcapil match; at most once per key"),
        sim.Query(name=OPERASI_KSWP, path=native.PATH_KSWP, method="GET", read=baca_kswp, answer=konfirmasi_kswp,
                  summary="Taxpayer status confirmation: VALID / TIDAK_VALID with the criteria checked"),
        sim.Operation(name=OPERASI_SKF, path=native.PATH_SKF, model=native.PermohonanSkf, status=201, subject=lambda p: subjek(p.npwp),
                      checks=(skf_memenuhi_kriteria,), produce=terbitkan_skf,
                      summary="Tax clearance letter: issued at once when every criterion holds, else refused"),
        sim.Operation(name=OPERASI_NPWP_BADAN, path=native.PATH_NPWP_BADAN, model=native.PermohonanNpwpBadan, subject=subjek_badan,
                      checks=(penanggung_jawab_pengurus, badan_belum_terdaftar(ledger)), produce=daftarkan_badan,
                      summary="Register a business entity: NPWP and head-office NITKU, once per deed"),
    )  # fmt: skip


# ------------------------------------------------------------------ the protocol


class DialekDjp(sim.JsonDialect):
    """DJP speaks JSON behind a Bearer token; every error is a :class:`GalatDjp`,
    ``DITOLAK`` when refused on the merits, ``GAGAL`` otherwise."""

    key = sim.KeyRule(native.HEADER_IDEMPOTENCY_KEY, max_length=MAX_PANJANG_KEY)
    DOWN = sim.Say(503, native.KodeGalat.SISTEM_TIDAK_TERSEDIA, "Layanan DJP sedang tidak tersedia.")
    BUSY = sim.Say(503, native.KodeGalat.SISTEM_SIBUK, "Sistem sedang sibuk, silakan coba lagi.", retry_after=1)
    KEY_MISSING = sim.Say(400, native.KodeGalat.IDEMPOTENCY_KEY_WAJIB, f"Header {native.HEADER_IDEMPOTENCY_KEY} wajib diisi.")
    KEY_INVALID = sim.Say(
        400,
        native.KodeGalat.IDEMPOTENCY_KEY_WAJIB,
        f"{native.HEADER_IDEMPOTENCY_KEY} harus teks tercetak, maksimal {MAX_PANJANG_KEY} karakter.",
    )
    MALFORMED = sim.Say(400, native.KodeGalat.DATA_TIDAK_VALID, "Data permohonan tidak valid.")
    CONFLICT = sim.Say(409, native.KodeGalat.KUNCI_SUDAH_DIPAKAI, f"{native.HEADER_IDEMPOTENCY_KEY} sudah dipakai untuk permohonan lain.")
    QUOTA = sim.Say(429, native.KodeGalat.KUOTA_HABIS, "Kuota layanan hari ini sudah habis.")
    DROPPED = sim.Say(504, native.KodeGalat.WAKTU_HABIS, "Batas waktu habis sebelum balasan terkirim.")
    TOKEN_MISSING = sim.Say(401, native.KodeGalat.TOKEN_WAJIB, "Token akses wajib disertakan.")
    TOKEN_INVALID = sim.Say(401, native.KodeGalat.TOKEN_TIDAK_VALID, "Token akses tidak valid atau sudah kedaluwarsa.")
    HTTP_ERRORS = (native.KodeGalat.TIDAK_DITEMUKAN, native.KodeGalat.METODE_TIDAK_DIIZINKAN, native.KodeGalat.GALAT_INTERNAL)
    REPLAY_HEADER = native.HEADER_IDEMPOTENT_REPLAYED

    def __init__(self, runtime: sim.SimulatorRuntime, tokens: TokenStore) -> None:
        super().__init__(runtime)
        self.tokens = tokens

    async def authenticate(self, request: Request) -> Response | None:
        """Every API call needs a live Bearer token (RFC 6750 section 3 on refusal)."""
        authorization = request.headers.get("authorization", "")
        if not authorization:
            return self.error(self.TOKEN_MISSING, headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'})
        scheme, _, value = authorization.partition(" ")
        problem = self.tokens.check(value.strip()) if scheme.lower() == "bearer" and value.strip() else "Bearer token expected"
        if problem is None:
            return None
        self.tokens.refused += 1
        challenge = f'Bearer realm="{REALM}", error="invalid_token", error_description="{problem}"'
        return self.error(self.TOKEN_INVALID, headers={"WWW-Authenticate": challenge})

    def error_body(self, code: str, message: str, details: list[str] | None, *, refused: bool) -> dict[str, Any]:
        status = native.StatusGalat.DITOLAK if refused else native.StatusGalat.GAGAL
        return native.GalatDjp(status=status, kode=native.KodeGalat(code), pesan=message, rincian=details).model_dump(
            mode="json", exclude_none=True
        )

    def success(self, call: sim.Call[Any], body: dict[str, Any], *, replayed: bool) -> Response:
        knobs = self.runtime.knobs
        override = knobs.status_override if isinstance(knobs, DjpKnobs) else None
        return super().success(call, {**body, "status": override} if override else body, replayed=replayed)

    def garbled(self, call: sim.Call[Any], reply: Response) -> Response:
        """A web application firewall's block page: HTTP 200, HTML, nothing of DJP's protocol."""
        return HTMLResponse(HALAMAN_WAF.format(support_id=self.runtime.rng.randrange(10**18, 10**19)), status_code=200)


# ---------------------------------------------------------------------------- app


class KeadaanSimulator:
    """Per-app state: runtime (knobs, rng, ledger, clock), tokens, configured client."""

    def __init__(self, config: KonfigurasiSimulator, clock: sim.Clock | None) -> None:
        self.config = config
        self.runtime = sim.SimulatorRuntime.open(config.knobs.model_copy(), ledger_path=config.ledger_path, clock=clock)
        self.tokens = TokenStore(self.runtime.clock.now)
        self.runtime.triggers.append(self.cabut_jika_diminta)
        self.runtime.knobs = self.cabut_jika_diminta(self.runtime.knobs)

    @property
    def knobs(self) -> DjpKnobs:
        knobs = self.runtime.knobs
        assert isinstance(knobs, DjpKnobs)
        return knobs

    def cabut_jika_diminta(self, knobs: sim.Knobs) -> sim.Knobs:
        """Carry out a ``revoke_tokens`` trigger once, then reset it."""
        if isinstance(knobs, DjpKnobs) and knobs.revoke_tokens:
            self.tokens.revoke_all()
            return knobs.model_copy(update={"revoke_tokens": False})
        return knobs


def create_app(config: KonfigurasiSimulator | None = None, *, clock: sim.Clock | None = None) -> FastAPI:
    """Build a simulator app with its own ledger, knobs, random and tokens.

    ``clock`` (an aware-datetime factory) lets tests expire tokens and cross days
    without sleeping. ``app.state.simulator`` is the scaffold, ``app.state.djp`` the
    DJP state (tokens, configured client)."""
    keadaan = KeadaanSimulator(config or KonfigurasiSimulator(), clock)
    dialect = DialekDjp(keadaan.runtime, keadaan.tokens)
    simulator = sim.Simulator(
        keadaan.runtime,
        dialect,
        operasi(keadaan.runtime.ledger),
        title="DJP backend simulator",
        description="Native DJP API (OAuth2; NPWP activation, KSWP, SKF) for mpp-hub adapter tests.",
    )
    app = simulator.app
    app.state.djp = keadaan

    @app.post(native.PATH_TOKEN)
    async def token(request: Request) -> Response:
        """Client credentials grant: one token per call, lifetime ``token_ttl_seconds``."""
        raw = await request.body()  # received in full before any (simulated) work
        if (stopped := await simulator.gate()) is not None:
            return stopped
        return terbitkan_token(request, raw, keadaan)

    @app.get("/_sim/tokens")
    async def tokens() -> dict[str, int]:
        """How many tokens were issued, are active, were refused or revoked (never the tokens)."""
        return keadaan.tokens.summary()

    return app


def from_options(options: SimulatorOptions) -> FastAPI:
    """The app `mpp-hub simulator djp` (and the plug-in) starts: ``options.secrets`` may set
    ``client_id`` and ``client_secret`` of the one OAuth client it knows; the hub passes
    the adapter's (``MPP_AGENCIES__DJP__OAUTH_CLIENT_*``)."""
    return create_app(KonfigurasiSimulator.dari_rahasia(options.ledger_path, options.secrets))


def terbitkan_token(request: Request, raw: bytes, keadaan: KeadaanSimulator) -> Response:
    """RFC 6749 section 4.4: the client authenticates (Basic or form fields, never both)
    and gets a Bearer token."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return galat_oauth(400, "invalid_request", "Body must be application/x-www-form-urlencoded")
    form = parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True)
    if any(len(values) > 1 for values in form.values()):
        return galat_oauth(400, "invalid_request", "A parameter was sent more than once")
    params = {name: values[0] for name, values in form.items()}

    authorization = request.headers.get("authorization")
    basic = _kredensial_basic(authorization) if authorization else None
    if authorization and basic is None:
        return galat_oauth(401, "invalid_client", "Unsupported or malformed client authentication", basic=True)
    if basic is not None and ("client_id" in params or "client_secret" in params):
        return galat_oauth(400, "invalid_request", "Use one client authentication method, not two")
    client_id, secret = basic if basic is not None else (params.get("client_id"), params.get("client_secret"))
    if client_id is None or secret is None:
        return galat_oauth(401, "invalid_client", "Client authentication is required", basic=True)
    if not (_sama(client_id, keadaan.config.client_id) and _sama(secret, keadaan.config.client_secret)):
        return galat_oauth(401, "invalid_client", "Client authentication failed", basic=basic is not None)

    grant_type = params.get("grant_type")
    if grant_type is None:
        return galat_oauth(400, "invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        return galat_oauth(400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported")

    ttl = keadaan.knobs.token_ttl_seconds
    access_token = keadaan.tokens.issue(ttl)
    return JSONResponse(
        {"access_token": access_token, "token_type": "Bearer", "expires_in": ttl, "scope": "layanan-mpp"},
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
