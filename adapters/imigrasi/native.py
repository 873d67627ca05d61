"""Imigrasi's own ("native") SOAP 1.1 messages, as its passport web service speaks them.

The passport service of the Direktorat Jenderal Imigrasi (here: Kantor Imigrasi
Kelas II Non TPI Agam, whose counter at MPP Bukittinggi serves applicants on
Wednesdays) is a foreign system to the hub. Like many Indonesian government back
offices of its generation it is a SOAP 1.1 web service: XML envelopes POSTed to one
endpoint, the operation named by the ``SOAPAction`` header and by the body element,
Indonesian element names in the service's own namespace, and errors as
``soap:Fault`` with HTTP 500 (SOAP 1.1 section 6.2). Submissions are acknowledged at
once; the applicant's progress (interview, billing, printing, pickup) must be
*polled* with ``CekStatusPermohonan``.

This module describes that wire format, so that

* the simulator (``adapters.imigrasi.simulator``) can read and produce it, and
* the Imigrasi adapter can translate canonical messages to and from it.

On purpose it imports nothing from ``hub`` or ``schemas``: it imitates a system we do
not control, so it must not be shaped by our own contract.

Wire format
===========

``POST /ws/PasporService`` with ``Content-Type: text/xml; charset=utf-8`` and
``SOAPAction: "http://ws.imigrasi.go.id/simkim/paspor/v1/<Operasi>"``::

    <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
                   xmlns:pas="http://ws.imigrasi.go.id/simkim/paspor/v1">
      <soap:Header/>
      <soap:Body>
        <pas:AjukanPermohonan>
          <pas:IdTransaksi>...caller's idempotency key...</pas:IdTransaksi>
          <pas:JenisPermohonan>BARU</pas:JenisPermohonan>
          ...
        </pas:AjukanPermohonan>
      </soap:Body>
    </soap:Envelope>

Every element below ``soap:Body`` is qualified with the service namespace
(``elementFormDefault="qualified"``); ``faultcode``, ``faultstring`` and ``detail``
of a fault are unqualified, as SOAP 1.1 defines them.

Operations:

``AjukanPermohonan`` (submit an application; applied at most once per ``IdTransaksi``)
    request :class:`PermohonanPaspor`, answer ``AjukanPermohonanResponse``
    (:class:`HasilPengajuan`) with the ``NomorPermohonan`` to poll with.
``CekStatusPermohonan`` (where is the application now?)
    request :class:`CekStatus`, answer ``CekStatusPermohonanResponse``
    (:class:`StatusPermohonanPaspor`).
``BatalkanPermohonan`` (the applicant withdraws the application)
    request :class:`BatalkanPermohonan` (the caller's ``IdTransaksi``, optionally the
    ``NomorPermohonan``), answer ``BatalkanPermohonanResponse``: the application's
    status after the attempt, same content as ``CekStatusPermohonanResponse``
    (:class:`StatusPermohonanPaspor`). Allowed before payment (``DITERIMA``,
    ``MENUNGGU_PEMBAYARAN``, ``BERKAS_DIKEMBALIKAN``): the status becomes
    ``DIBATALKAN`` and an unpaid billing is void. After payment PNBP is not refunded,
    so the service does not cancel: it answers the current status unchanged (not a
    fault). An ``IdTransaksi`` the service never registered is a ``soap:Client`` fault
    ``PERMOHONAN_TIDAK_DITEMUKAN``, and the id is then closed: a late
    ``AjukanPermohonan`` with it is refused (``ID_TRANSAKSI_SUDAH_DIPAKAI``).

Statuses (``Status``), in order: ``DITERIMA`` (received; interview at the counter on
``JadwalKedatangan``) -> ``MENUNGGU_PEMBAYARAN`` (SIMPONI billing issued, pay within 7
days) -> ``DIPROSES`` (paid; printed within 4 working days) -> ``SIAP_DIAMBIL``
(printed; collect within 30 days) -> ``SELESAI`` (collected). Ends early with
``DITOLAK`` (refused, ``KodeAlasan`` says why), ``KEDALUWARSA`` (billing not paid in
time, or passport not collected in time) or ``DIBATALKAN`` (withdrawn before payment).
``BERKAS_DIKEMBALIKAN``: at the interview the officer returned the documents (e.g. the
supporting document's data do not match the NIK's population data); ``KodeAlasan``,
``Alasan`` and ``DokumenDikembalikan`` say what to bring instead. The application waits
there: the applicant applies again with the right documents (a new ``IdTransaksi``),
or withdraws it.

Facts (sources by key in docs/domain-sources.md, "Imigrasi"):

* Fees per PP 45/2024, valid from 17 Dec 2024 [S:PP45]: ordinary non-electronic
  passport Rp350,000 (5 years) / Rp650,000 (10 years); electronic passport Rp650,000
  (5 years) / Rp950,000 (10 years).
* SLA: 4 working days after payment; collect within 30 days or the passport is
  cancelled automatically [S:PASPOR-SLA][S:PASPOR-30D].
* PNBP billing (SIMPONI): 15 digits starting with 7, 8 or 9; payable for 7 days [V:SIMPONI].
* MPP counters serve about 20 applicants a day; Bukittinggi's on Wednesdays since
  14 Jan 2026 [S:SWL][S:BKT-2026].
* Passport numbers are treated as opaque ``^[A-Z]{1,2}[0-9]{6,8}$`` [I].
* A 10-year passport only for applicants aged 17 or married (Permenkumham 18/2022,
  art. 2A(2)) [S:PASPOR10-SUARA][S:PASPOR10-TRIBUN]: ``SudahMenikah`` says the latter;
  the age is the NIK's.
* Lost or damaged passport (``PENGGANTIAN_HILANG`` / ``PENGGANTIAN_RUSAK``): the police
  loss report for a lost one, an examination (BAP) at the office, and a charge
  (biaya beban) of Rp1,000,000 (lost) / Rp500,000 (damaged) on top of the new passport,
  waived for force majeure (fire, flood, earthquake) [S:PP45][S:PASPOR-HILANG-KARAWANG]
  [S:PASPOR-HILANG-KOMPAS].
* First passport of a migrant worker (``PMI``): tarif nol rupiah for a non-electronic
  passport (PP 45/2024 art. 5(1)) [S:PP45-REPUBLIKA]; 5 years [S:PMI-ANTARA]; with the
  placement papers: the SKCK (a placement cost under Perban BP2MI 2/2020 art. 3(1)(b))
  [S:PMI-BP2MI] and the work agreement (Permenkumham 9/2020 art. 3) [S:PMI-SUARABMI].
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Final
from xml.etree import ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# ------------------------------------------------------------------ protocol constants

#: SOAP 1.1 envelope namespace.
NS_SOAP: Final[str] = "http://schemas.xmlsoap.org/soap/envelope/"
#: Target namespace of the passport service (the WSDL's ``targetNamespace``).
NS_PASPOR: Final[str] = "http://ws.imigrasi.go.id/simkim/paspor/v1"

ET.register_namespace("soap", NS_SOAP)
ET.register_namespace("pas", NS_PASPOR)

#: The one endpoint of the passport service.
PATH_LAYANAN: Final[str] = "/ws/PasporService"
CONTENT_TYPE: Final[str] = "text/xml; charset=utf-8"

OP_AJUKAN: Final[str] = "AjukanPermohonan"
OP_CEK_STATUS: Final[str] = "CekStatusPermohonan"
OP_BATALKAN: Final[str] = "BatalkanPermohonan"
OPERASI: Final[frozenset[str]] = frozenset({OP_AJUKAN, OP_CEK_STATUS, OP_BATALKAN})

#: SOAP 1.1 fault codes (QNames in the envelope namespace).
FAULT_CLIENT: Final[str] = "soap:Client"  # the request is wrong or refused: do not resend as is
FAULT_SERVER: Final[str] = "soap:Server"  # the service could not process it now: may succeed later


def soap_action(operasi: str) -> str:
    """The ``SOAPAction`` header value of an operation (quoted, as SOAP 1.1 shows it)."""
    return f'"{NS_PASPOR}/{operasi}"'


def respons(operasi: str) -> str:
    """Local name of an operation's answer element (document/literal wrapped style)."""
    return f"{operasi}Response"


def q(nama: str) -> str:
    """Clark notation of an element in the service namespace."""
    return f"{{{NS_PASPOR}}}{nama}"


def q_soap(nama: str) -> str:
    """Clark notation of an element in the SOAP envelope namespace."""
    return f"{{{NS_SOAP}}}{nama}"


# ------------------------------------------------------------------ value formats

#: NIK: exactly 16 digits.
POLA_NIK: Final[str] = r"^[0-9]{16}$"
#: Passport number, opaque: 1-2 letters and 6-8 digits (e.g. ``X1234567``).
POLA_NOMOR_PASPOR: Final[str] = r"^[A-Z]{1,2}[0-9]{6,8}$"
#: SIMPONI PNBP billing code: 15 digits starting with 7, 8 or 9 [V:SIMPONI].
POLA_KODE_BILLING: Final[str] = r"^[789][0-9]{14}$"
#: NTPN (state revenue transaction number, the proof of payment): 16 letters/digits.
POLA_NTPN: Final[str] = r"^[0-9A-Z]{16}$"
#: Caller's transaction id (idempotency key): what a UUID or similar id looks like.
POLA_ID_TRANSAKSI: Final[str] = r"^[A-Za-z0-9._:-]{1,64}$"
#: Application number as Kanim Agam issues it, e.g. ``AGM-20260114-000001``.
POLA_NOMOR_PERMOHONAN: Final[str] = r"^[A-Z]{3}-[0-9]{8}-[0-9]{6}$"
#: The service's XSD restriction on ``NamaLengkap``: what can be printed in a passport's
#: machine-readable zone (letters, spaces and a few marks), at most 60 characters. Checked
#: by the service itself, which answers a ``soap:Client`` fault otherwise.
POLA_NAMA: Final[re.Pattern[str]] = re.compile(r"^[A-Za-z][A-Za-z .,'-]{0,59}$")


class JenisPermohonan(StrEnum):
    BARU = "BARU"  # first passport
    PENGGANTIAN = "PENGGANTIAN"  # replacement of an expired passport
    PENGGANTIAN_HILANG = "PENGGANTIAN_HILANG"  # replacement of a lost passport (police report, BAP, charge)
    PENGGANTIAN_RUSAK = "PENGGANTIAN_RUSAK"  # replacement of a damaged passport (BAP, charge)
    PMI = "PMI"  # first passport of a migrant worker: tarif nol rupiah


class JenisPaspor(StrEnum):
    NON_ELEKTRONIK = "PASPOR_BIASA_NON_ELEKTRONIK"
    ELEKTRONIK = "PASPOR_BIASA_ELEKTRONIK"


class DokumenPendukung(StrEnum):
    """The civil document proving name, place/date of birth and parents (one of three)."""

    AKTA_KELAHIRAN = "AKTA_KELAHIRAN"  # birth certificate
    BUKU_NIKAH = "BUKU_NIKAH"  # marriage book / certificate
    IJAZAH = "IJAZAH"  # school diploma


class StatusPermohonan(StrEnum):
    DITERIMA = "DITERIMA"
    MENUNGGU_PEMBAYARAN = "MENUNGGU_PEMBAYARAN"
    DIPROSES = "DIPROSES"
    SIAP_DIAMBIL = "SIAP_DIAMBIL"
    SELESAI = "SELESAI"
    DITOLAK = "DITOLAK"
    KEDALUWARSA = "KEDALUWARSA"
    BERKAS_DIKEMBALIKAN = "BERKAS_DIKEMBALIKAN"
    DIBATALKAN = "DIBATALKAN"

    @property
    def akhir(self) -> bool:
        """Final: nothing will change any more."""
        return self in (StatusPermohonan.SELESAI, StatusPermohonan.DITOLAK, StatusPermohonan.KEDALUWARSA, StatusPermohonan.DIBATALKAN)

    @property
    def dapat_dibatalkan(self) -> bool:
        """Can still be withdrawn: nothing has been paid yet."""
        return self in (StatusPermohonan.DITERIMA, StatusPermohonan.MENUNGGU_PEMBAYARAN, StatusPermohonan.BERKAS_DIKEMBALIKAN)


class KodeAlasan(StrEnum):
    """Why an application ended without a passport (with DITOLAK / KEDALUWARSA)."""

    CEKAL = "CEKAL"  # applicant on the immigration prevention list (daftar cegah)
    DOKUMEN_TIDAK_SESUAI = "DOKUMEN_TIDAK_SESUAI"  # documents contradict each other / the NIK's population data
    BILLING_KEDALUWARSA = "BILLING_KEDALUWARSA"  # not paid within 7 days
    TIDAK_DIAMBIL = "TIDAK_DIAMBIL"  # not collected within 30 days


class KodeGalat(StrEnum):
    """``KodeGalat`` in a fault's ``detail``; the adapter maps these, so they are a closed set."""

    # soap:Client -- the request is malformed or refused on the merits
    PERMINTAAN_TIDAK_VALID = "PERMINTAAN_TIDAK_VALID"  # not XML / not the schema / wrong SOAPAction
    OPERASI_TIDAK_DIKENAL = "OPERASI_TIDAK_DIKENAL"  # body element is no operation of the service
    ID_TRANSAKSI_SUDAH_DIPAKAI = "ID_TRANSAKSI_SUDAH_DIPAKAI"  # idempotency key reused with another body
    PERMOHONAN_TIDAK_DITEMUKAN = "PERMOHONAN_TIDAK_DITEMUKAN"  # unknown NomorPermohonan
    KUOTA_HABIS = "KUOTA_HABIS"  # the counter's quota for that service day is used up
    PASPOR_LAMA_TIDAK_TERDAFTAR = "PASPOR_LAMA_TIDAK_TERDAFTAR"  # old passport not in the register
    MASA_BERLAKU_TIDAK_DIIZINKAN = "MASA_BERLAKU_TIDAK_DIIZINKAN"  # 10 years for someone under 17 and unmarried
    SKCK_TIDAK_BERLAKU = "SKCK_TIDAK_BERLAKU"  # PMI: the SKCK expires before the interview
    # soap:Server -- the service cannot answer now
    SISTEM_SIBUK = "SISTEM_SIBUK"  # overloaded; try again after DetikCobaLagi seconds
    SISTEM_TIDAK_TERSEDIA = "SISTEM_TIDAK_TERSEDIA"  # down / maintenance


#: Fees per PP 45/2024 (from 17 Dec 2024), rupiah, by passport type and validity in years.
TARIF: Final[dict[tuple[JenisPaspor, int], int]] = {
    (JenisPaspor.NON_ELEKTRONIK, 5): 350_000,
    (JenisPaspor.NON_ELEKTRONIK, 10): 650_000,
    (JenisPaspor.ELEKTRONIK, 5): 650_000,
    (JenisPaspor.ELEKTRONIK, 10): 950_000,
}
#: Charge (biaya beban) on top of the new passport, rupiah, by kind of replacement.
BIAYA_BEBAN: Final[dict[JenisPermohonan, int]] = {
    JenisPermohonan.PENGGANTIAN_HILANG: 1_000_000,
    JenisPermohonan.PENGGANTIAN_RUSAK: 500_000,
}

#: Youngest age for a 10-year passport, unless married (Permenkumham 18/2022 art. 2A(2)).
USIA_PASPOR_10_TAHUN: Final[int] = 17

#: Days a SIMPONI billing can be paid [V:SIMPONI].
HARI_BAYAR: Final[int] = 7
#: Working days from payment to a printed passport [S:PASPOR-SLA].
HARI_KERJA_PROSES: Final[int] = 4
#: Days to collect a printed passport before it is cancelled [S:PASPOR-30D].
HARI_AMBIL: Final[int] = 30


def _masa_berlaku(value: int) -> int:
    if value not in (5, 10):
        raise ValueError("MasaBerlaku harus 5 atau 10 (tahun)")
    return value


MasaBerlaku = Annotated[int, AfterValidator(_masa_berlaku)]
"""Validity of a passport in years: 5 or 10."""


# ------------------------------------------------------------------ messages


class _Pesan(BaseModel):
    """Strict like the service's XSD: unknown elements are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DataPemohon(_Pesan):
    NIK: str = Field(pattern=POLA_NIK)
    NamaLengkap: str = Field(min_length=1, max_length=200, description="Name as on the KTP; the service restricts it to POLA_NAMA.")


class PermohonanPaspor(_Pesan):
    """Body of ``AjukanPermohonan``: one passport application."""

    IdTransaksi: str = Field(pattern=POLA_ID_TRANSAKSI, description="Caller's idempotency key; applied at most once.")
    JenisPermohonan: JenisPermohonan
    Pemohon: DataPemohon
    JenisPaspor: JenisPaspor
    MasaBerlaku: MasaBerlaku
    TanggalKedatanganDiinginkan: date = Field(description="Preferred interview date; the service picks the next service day.")
    DokumenPendukung: DokumenPendukung
    NomorPasporLama: str | None = Field(default=None, pattern=POLA_NOMOR_PASPOR, description="Required for PENGGANTIAN(_RUSAK).")
    SudahMenikah: bool | None = Field(default=None, description="Married: allows a 10-year passport under 17.")
    NomorLaporanKehilangan: str | None = Field(default=None, min_length=8, max_length=120, description="PENGGANTIAN_HILANG.")
    KeadaanKahar: bool | None = Field(default=None, description="Lost/damaged by force majeure: no charge.")
    NomorSKCK: str | None = Field(default=None, min_length=6, max_length=100, description="PMI: the SKCK for placement.")
    SKCKBerlakuSampai: date | None = Field(default=None, description="PMI: the SKCK's expiry.")
    NegaraTujuan: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", description="PMI: destination (ISO 3166-1 alpha-2).")
    NomorPerjanjianKerja: str | None = Field(default=None, min_length=1, max_length=60, description="PMI: the work agreement.")


class HasilPengajuan(_Pesan):
    """Body of ``AjukanPermohonanResponse``: the application is registered."""

    NomorPermohonan: str = Field(pattern=POLA_NOMOR_PERMOHONAN)
    Status: str = Field(description="Always DITERIMA for a registered application.")
    TanggalPermohonan: date
    JadwalKedatangan: date = Field(description="Interview date at the counter (a service day).")
    KantorImigrasi: str
    LokasiLayanan: str


class CekStatus(_Pesan):
    """Body of ``CekStatusPermohonan``."""

    NomorPermohonan: str = Field(min_length=1, max_length=40)


class BatalkanPermohonan(_Pesan):
    """Body of ``BatalkanPermohonan``: withdraw the application registered under ``IdTransaksi``."""

    IdTransaksi: str = Field(pattern=POLA_ID_TRANSAKSI, description="The key the application was submitted with.")
    NomorPermohonan: str | None = Field(default=None, min_length=1, max_length=40, description="If given, must be that application's.")
    AlasanPembatalan: str | None = Field(default=None, min_length=1, max_length=500)


class DataTagihan(_Pesan):
    """The SIMPONI billing of the passport fee (PNBP)."""

    KodeBilling: str = Field(pattern=POLA_KODE_BILLING)
    JumlahTagihan: int = Field(ge=0)
    BatasPembayaran: date
    TanggalBayar: date | None = None
    NTPN: str | None = Field(default=None, pattern=POLA_NTPN)


class DataPaspor(_Pesan):
    """The printed passport."""

    NomorPaspor: str = Field(pattern=POLA_NOMOR_PASPOR)
    JenisPaspor: JenisPaspor
    MasaBerlaku: MasaBerlaku
    TanggalTerbit: date
    TanggalHabisBerlaku: date
    BatasPengambilan: date
    TanggalDiambil: date | None = None


class StatusPermohonanPaspor(_Pesan):
    """Body of ``CekStatusPermohonanResponse``; sections appear as the application advances."""

    NomorPermohonan: str = Field(pattern=POLA_NOMOR_PERMOHONAN)
    Status: str = Field(description="A StatusPermohonan value; kept as text so new ones can be recognised as unknown.")
    Keterangan: str = Field(description="Human-readable explanation, in Indonesian.")
    JenisPermohonan: JenisPermohonan
    JadwalKedatangan: date
    NomorPasporLama: str | None = Field(default=None, pattern=POLA_NOMOR_PASPOR)
    Tagihan: DataTagihan | None = None
    PerkiraanSelesai: date | None = None
    Paspor: DataPaspor | None = None
    KodeAlasan: str | None = None
    Alasan: str | None = None
    DokumenDikembalikan: str | None = Field(default=None, description="BERKAS_DIKEMBALIKAN: the DokumenPendukung that was returned.")
    NomorBAP: str | None = Field(default=None, description="Lost/damaged: the examination record (berita acara pemeriksaan).")
    BiayaBeban: int | None = Field(default=None, ge=0, description="Lost/damaged: the charge included in the billing.")


class GalatLayanan(_Pesan):
    """The service's own fault detail (``detail/pas:GalatLayanan``)."""

    KodeGalat: str
    Pesan: str
    DetikCobaLagi: int | None = Field(default=None, ge=0, description="Server faults: seconds to wait before retrying.")


# ------------------------------------------------------------------ XML codec


class XmlTidakValid(ValueError):
    """Bytes that are not a SOAP 1.1 message of this service."""


def _teks(nilai: Any) -> str:
    if isinstance(nilai, StrEnum):
        return nilai.value
    if isinstance(nilai, bool):
        return "true" if nilai else "false"
    if isinstance(nilai, date):
        return nilai.isoformat()
    return str(nilai)


def elemen(nama: str, pesan: BaseModel) -> ET.Element:
    """``pesan`` as the element ``pas:<nama>``: one child per set field, in declaration order."""
    akar = ET.Element(q(nama))
    for kolom, nilai in pesan:
        if nilai is None:
            continue
        if isinstance(nilai, BaseModel):
            akar.append(elemen(kolom, nilai))
        else:
            ET.SubElement(akar, q(kolom)).text = _teks(nilai)
    return akar


def isi_elemen(akar: ET.Element) -> dict[str, Any]:
    """The children of ``akar`` as a dict (nested elements as dicts), for pydantic.

    Refuses what an XSD validator would: an element outside the service namespace,
    a repeated element, mixed content."""
    hasil: dict[str, Any] = {}
    for anak in akar:
        if not isinstance(anak.tag, str) or not anak.tag.startswith(f"{{{NS_PASPOR}}}"):
            raise XmlTidakValid(f"element {anak.tag!r} is not in namespace {NS_PASPOR}")
        nama = anak.tag.split("}", 1)[1]
        if nama in hasil:
            raise XmlTidakValid(f"element {nama} appears more than once")
        if len(anak):
            if (anak.text or "").strip():
                raise XmlTidakValid(f"element {nama} has mixed content")
            hasil[nama] = isi_elemen(anak)
        else:
            hasil[nama] = (anak.text or "").strip()
    return hasil


def amplop(isi: ET.Element) -> bytes:
    """Wrap a body element in a SOAP 1.1 envelope (with an empty header)."""
    env = ET.Element(q_soap("Envelope"))
    ET.SubElement(env, q_soap("Header"))
    ET.SubElement(env, q_soap("Body")).append(isi)
    return bytes(ET.tostring(env, encoding="utf-8", xml_declaration=True))


def amplop_galat(faultcode: str, faultstring: str, detail: GalatLayanan | None = None) -> bytes:
    """A SOAP 1.1 fault envelope; ``faultcode`` is ``soap:Client`` or ``soap:Server``."""
    fault = ET.Element(q_soap("Fault"))
    ET.SubElement(fault, "faultcode").text = faultcode
    ET.SubElement(fault, "faultstring").text = faultstring
    if detail is not None:
        ET.SubElement(fault, "detail").append(elemen("GalatLayanan", detail))
    return amplop(fault)


def baca_amplop(raw: bytes) -> ET.Element:
    """Parse a SOAP 1.1 message safely (defusedxml: no entities, no external references)
    and return the single element inside ``soap:Body``."""
    try:
        akar = SafeET.fromstring(raw)
    except (ET.ParseError, DefusedXmlException) as exc:
        raise XmlTidakValid(f"not well-formed or unsafe XML: {exc}") from None
    if akar.tag != q_soap("Envelope"):
        raise XmlTidakValid(f"root element is {akar.tag!r}, not a SOAP 1.1 Envelope")
    body = akar.find(q_soap("Body"))
    if body is None:
        raise XmlTidakValid("SOAP Envelope without a Body")
    if len(body) != 1:
        raise XmlTidakValid(f"SOAP Body holds {len(body)} elements, expected exactly one")
    content: ET.Element = body[0]
    return content


@dataclass(frozen=True, slots=True)
class Fault:
    """A parsed ``soap:Fault``. ``kind`` is the local part of the faultcode's QName
    (``Client``, ``Server``; ``Server.Busy`` style subcodes keep their dots)."""

    faultcode: str
    faultstring: str
    detail: GalatLayanan | None

    @property
    def kind(self) -> str:
        return self.faultcode.rsplit(":", 1)[-1].split(".", 1)[0]


def is_fault(isi: ET.Element) -> bool:
    return isi.tag == q_soap("Fault")


def baca_fault(isi: ET.Element) -> Fault:
    """Read a ``soap:Fault`` element; raises ``XmlTidakValid`` when it is not one.

    The ``detail`` is optional in SOAP; a detail that is not this service's
    ``GalatLayanan`` is ignored rather than refused, so a fault from a generic SOAP
    stack (e.g. an application server's own) is still understood by its faultcode."""
    kode = isi.findtext("faultcode")
    if not kode or not kode.strip():
        raise XmlTidakValid("soap:Fault without a faultcode")
    teks = (isi.findtext("faultstring") or "").strip()
    detail: GalatLayanan | None = None
    galat = isi.find(f"detail/{q('GalatLayanan')}")
    if galat is not None:
        try:
            detail = GalatLayanan.model_validate(isi_elemen(galat))
        except (XmlTidakValid, ValueError):
            detail = None
    return Fault(faultcode=kode.strip(), faultstring=teks, detail=detail)


__all__ = [
    "BIAYA_BEBAN",
    "CONTENT_TYPE",
    "FAULT_CLIENT",
    "FAULT_SERVER",
    "HARI_AMBIL",
    "HARI_BAYAR",
    "HARI_KERJA_PROSES",
    "NS_PASPOR",
    "NS_SOAP",
    "OPERASI",
    "OP_AJUKAN",
    "OP_BATALKAN",
    "OP_CEK_STATUS",
    "PATH_LAYANAN",
    "POLA_ID_TRANSAKSI",
    "POLA_KODE_BILLING",
    "POLA_NAMA",
    "POLA_NIK",
    "POLA_NOMOR_PASPOR",
    "POLA_NOMOR_PERMOHONAN",
    "POLA_NTPN",
    "TARIF",
    "USIA_PASPOR_10_TAHUN",
    "BatalkanPermohonan",
    "CekStatus",
    "DataPaspor",
    "DataPemohon",
    "DataTagihan",
    "DokumenPendukung",
    "Fault",
    "GalatLayanan",
    "HasilPengajuan",
    "JenisPaspor",
    "JenisPermohonan",
    "KodeAlasan",
    "KodeGalat",
    "MasaBerlaku",
    "PermohonanPaspor",
    "StatusPermohonan",
    "StatusPermohonanPaspor",
    "XmlTidakValid",
    "amplop",
    "amplop_galat",
    "baca_amplop",
    "baca_fault",
    "elemen",
    "is_fault",
    "isi_elemen",
    "q",
    "q_soap",
    "respons",
    "soap_action",
]
