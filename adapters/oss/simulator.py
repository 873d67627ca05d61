"""A stand-in for OSS-RBA's NIB registration API: ``user_key`` + access token, JSON envelope.

Why it exists: the OSS adapter must be developed and fault-tested against something
that behaves like the real, foreign system -- its Indonesian protocol
(``adapters.oss.native``), a ``user_key`` on every call, access tokens that expire,
a KBLI reference that decides the risk level, and its bad days. Talking to the real
OSS from tests is neither possible nor desirable.

It imports nothing from ``hub``; the request pipeline, knobs, apply-once ledger and
clock come from the SDK's simulator scaffold (:mod:`adapters.sdk.testing.scaffold`).

Native API (wire format in :mod:`adapters.oss.native`)
======================================================

``POST /oss/api/v1/auth/token``
    Checks ``user_key`` and the counter's account, answers a Bearer token that lives
    ``token_ttl_seconds``. Outside the apply-once pipeline, but behind the same fault
    gate (``down``, ``latency_ms``, ``error_rate``).
``POST /oss/api/v1/nib/umk``
    Registers the business at most once per ``nomor_referensi``; a repeat with the
    same body gets the stored 201 with ``X-Replayed: true``, another body ``409
    REFERENSI_BENTROK``.
``POST /simbg/api/v1/pbg``, ``GET /simbg/api/v1/pbg/{nomor_registrasi}``
    SIMBG's building approval (PBG), behind the same key and token: its stages and
    rules are in :mod:`adapters.oss.simbg`.

Simulated business rules (deterministic, so tests can aim at them); refusals are 422,
nothing recorded, so a corrected retry with the same reference can still apply:

* the KBLI must be in the simulator's reference table (:data:`REFERENSI_KBLI`, a few
  real KBLI 2020 codes with a risk level each [I]); else ``KBLI_TIDAK_DITEMUKAN``;
* the capital must fit the declared scale (micro up to Rp1 billion, small above Rp1
  billion up to Rp5 billion [V:PP-7-2021] art. 35(3)); else ``SKALA_USAHA_TIDAK_SESUAI``;
* the NIB is 13 digits, stable per reference; issued today (WIB); the risk level and
  the licensing status follow from the KBLI (``native.STATUS_UNTUK_RESIKO``).

Knobs (``PUT /_sim/knobs``): the scaffold's ``down`` (503 ``LAYANAN_TIDAK_TERSEDIA``),
``latency_ms``, ``error_rate`` (503 ``SISTEM_SIBUK`` + ``Retry-After: 1``),
``drop_reply_after_apply`` (504 ``WAKTU_HABIS`` after registering), ``garble_rate``
(an HTML maintenance page with the success status), ``daily_quota`` (429
``KUOTA_HABIS``); OSS's own: ``token_ttl_seconds`` (lifetime of tokens issued from now
on) and ``forced_risk`` (the answer reports this risk code instead: a release with a
risk level the adapter has never seen).

Control plane (never affected by the knobs): the toolkit's ``/_sim/health``,
``/_sim/ledger`` (entries carry ``subject`` = scale/KBLI, never personal data),
``/_sim/knobs``, and ``GET /_sim/tokens`` (counts only, never a token).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field, ValidationError

from adapters.oss import DEV_CREDENTIALS, native, simbg
from adapters.sdk import testing as sim
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.testing.tokens import TokenStore

__all__ = ["DEV_ACCOUNT", "DEV_USER_KEY", "REFERENSI_KBLI", "OssKnobs", "create_app", "from_options"]

#: Development credentials: the hub's dev settings (MPP_AGENCIES__OSS__*), the simulator's defaults.
DEV_USER_KEY: Final[str] = DEV_CREDENTIALS["user_key"]
DEV_ACCOUNT: Final[dict[str, str]] = {"username": DEV_CREDENTIALS["username"], "password": DEV_CREDENTIALS["password"]}

OPERASI_NIB: Final[str] = "PENDAFTARAN_NIB_UMK"

#: The simulator's KBLI reference: code -> (title, risk level). Real KBLI 2020 codes and
#: titles; the risk level per code is this simulator's choice [I] (in OSS it follows
#: the activity and the scale under PP 28/2025's annex).
REFERENSI_KBLI: Final[dict[str, tuple[str, native.SkalaResiko]]] = {
    "56103": ("Kedai Makanan", native.SkalaResiko.RENDAH),
    "47112": (
        "Perdagangan Eceran Berbagai Macam Barang yang Utamanya Makanan, Minuman atau Tembakau Bukan di Minimarket",
        native.SkalaResiko.RENDAH,
    ),
    "10710": ("Industri Produk Roti dan Kue", native.SkalaResiko.MENENGAH_RENDAH),
    "56101": ("Restoran", native.SkalaResiko.MENENGAH_RENDAH),
    "55110": ("Hotel Bintang", native.SkalaResiko.MENENGAH_TINGGI),
    "21012": ("Industri Produk Farmasi untuk Manusia", native.SkalaResiko.TINGGI),
}

_KETERANGAN: Final[dict[native.StatusPerizinan, str]] = {
    native.StatusPerizinan.NIB_BERLAKU_SEBAGAI_IZIN: "NIB berlaku sebagai perizinan berusaha untuk kegiatan usaha risiko rendah.",
    native.StatusPerizinan.WAJIB_SERTIFIKAT_STANDAR: "NIB terbit; kegiatan usaha risiko menengah rendah wajib memiliki Sertifikat Standar (pernyataan mandiri).",
    native.StatusPerizinan.WAJIB_SERTIFIKAT_STANDAR_TERVERIFIKASI: (
        "NIB terbit; kegiatan usaha risiko menengah tinggi wajib memiliki Sertifikat Standar yang diverifikasi "
        "kementerian/lembaga/pemerintah daerah sebelum beroperasi."
    ),
    native.StatusPerizinan.WAJIB_IZIN: "NIB terbit untuk persiapan; kegiatan usaha risiko tinggi wajib memperoleh Izin sebelum beroperasi.",
}

#: What a maintenance proxy in front of OSS answers instead of JSON.
HALAMAN_PEMELIHARAAN: Final[str] = (
    "<!DOCTYPE html><html><head><title>OSS</title></head><body><h1>Sistem OSS sedang pemeliharaan</h1></body></html>"
)


class OssKnobs(sim.Knobs):
    """The SDK's common knobs plus OSS's own (see the module docstring)."""

    token_ttl_seconds: int = Field(default=300, ge=1, le=86_400, description="Lifetime of tokens issued from now on.")
    forced_risk: str | None = Field(default=None, min_length=1, max_length=10, description="The answer reports this skala_resiko instead.")


# ------------------------------------------------------------------ business rules


def periksa_kbli(call: sim.Call[native.PermohonanNib]) -> None:
    if call.payload.kbli not in REFERENSI_KBLI:
        raise sim.Refusal(native.KodeGalat.KBLI_TIDAK_DITEMUKAN, f"KBLI {call.payload.kbli} tidak ditemukan dalam KBLI 2020.")


def periksa_skala(call: sim.Call[native.PermohonanNib]) -> None:
    permohonan = call.payload
    batas_bawah = 0 if permohonan.skala_usaha is native.SkalaUsaha.MIKRO else native.MODAL_MAKSIMUM[native.SkalaUsaha.MIKRO] + 1
    if not batas_bawah <= permohonan.modal_usaha <= native.MODAL_MAKSIMUM[permohonan.skala_usaha]:
        nama = "mikro" if permohonan.skala_usaha is native.SkalaUsaha.MIKRO else "kecil"
        raise sim.Refusal(
            native.KodeGalat.SKALA_USAHA_TIDAK_SESUAI,
            f"Modal usaha tidak sesuai kriteria usaha {nama} (mikro sampai Rp1 miliar; kecil di atas Rp1 miliar sampai Rp5 miliar).",
        )


def terbitkan_nib(call: sim.Call[native.PermohonanNib], _: int) -> dict[str, Any]:
    permohonan, key = call.payload, call.key
    assert key is not None
    judul, resiko = REFERENSI_KBLI[permohonan.kbli]
    status = native.STATUS_UNTUK_RESIKO[resiko]
    data = native.DataNib(
        nomor_referensi=permohonan.nomor_referensi,
        nib=sim.stable_digits("nib", key, length=13),
        tgl_terbit_nib=call.today,
        kbli=permohonan.kbli,
        judul_kbli=judul,
        skala_resiko=resiko.value,
        status_perizinan=status.value,
        keterangan=_KETERANGAN[status],
    )
    return data.model_dump(mode="json")


@dataclass(frozen=True, slots=True)
class Akun:
    """The one counter account and user_key the simulator knows."""

    user_key: str
    username: str
    password: str

    @classmethod
    def dari_rahasia(cls, rahasia: dict[str, str]) -> Akun:
        return cls(
            user_key=rahasia.get("user_key", DEV_USER_KEY),
            username=rahasia.get("username", DEV_ACCOUNT["username"]),
            password=rahasia.get("password", DEV_ACCOUNT["password"]),
        )


def _sama(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# ------------------------------------------------------------------ the protocol


class DialekOss(sim.JsonDialect):
    """OSS speaks JSON inside ``{"status", "message", "data"}``; every API call needs
    the ``user_key`` and a live Bearer token."""

    DOWN = sim.Say(503, native.KodeGalat.LAYANAN_TIDAK_TERSEDIA, "Layanan OSS sedang tidak tersedia.")
    BUSY = sim.Say(503, native.KodeGalat.SISTEM_SIBUK, "Sistem OSS sedang sibuk, silakan coba lagi.", retry_after=1)
    MALFORMED = sim.Say(400, native.KodeGalat.DATA_TIDAK_VALID, "Data Parameter Salah.")
    KEY_MISSING = KEY_INVALID = MALFORMED  # the key is nomor_referensi, in the body
    CONFLICT = sim.Say(409, native.KodeGalat.REFERENSI_BENTROK, "nomor_referensi sudah dipakai untuk permohonan lain.")
    QUOTA = sim.Say(429, native.KodeGalat.KUOTA_HABIS, "Kuota pendaftaran NIB hari ini sudah habis.")
    DROPPED = sim.Say(504, native.KodeGalat.WAKTU_HABIS, "Proses Payload Data Di Sistem OSS Timeout.")
    USER_KEY = sim.Say(401, native.KodeGalat.USER_KEY_TIDAK_VALID, f"Header {native.HEADER_USER_KEY} tidak ada atau tidak valid.")
    TOKEN = sim.Say(401, native.KodeGalat.TOKEN_TIDAK_VALID, "Token akses tidak ada, tidak valid atau kedaluwarsa.")
    HTTP_ERRORS = (native.KodeGalat.TIDAK_DITEMUKAN, native.KodeGalat.METODE_TIDAK_DIIZINKAN, native.KodeGalat.GALAT_INTERNAL)
    REPLAY_HEADER = native.HEADER_REPLAYED
    GARBLED_PAGE = HALAMAN_PEMELIHARAAN

    def __init__(self, runtime: sim.SimulatorRuntime, akun: Akun, tokens: TokenStore) -> None:
        super().__init__(runtime)
        self.akun = akun
        self.tokens = tokens

    def user_key_ok(self, request: Request) -> bool:
        return _sama(request.headers.get(native.HEADER_USER_KEY, ""), self.akun.user_key)

    async def authenticate(self, request: Request) -> Response | None:
        if not self.user_key_ok(request):
            return self.error(self.USER_KEY)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.tokens.check(token.strip()) is None:
            return None
        self.tokens.refused += 1
        return self.error(self.TOKEN, headers={"WWW-Authenticate": 'Bearer realm="OSS", error="invalid_token"'})

    def error_document(self, say: sim.Say, message: str, details: list[str] | None, *, refused: bool) -> dict[str, Any]:
        """Every error in OSS's envelope, whose ``status`` repeats the HTTP status."""
        body = native.BalasanGalat(status=say.status, message=message, kode=native.KodeGalat(say.code), rincian=details)
        return body.model_dump(mode="json")

    def success(self, call: sim.Call[Any], body: dict[str, Any], *, replayed: bool) -> Response:
        if call.endpoint.name != OPERASI_NIB:  # SIMBG's answers: the same envelope, their own words
            return super().success(call, {"status": call.endpoint.status, "message": "Sukses", "data": body}, replayed=replayed)
        knobs = self.runtime.knobs
        forced = knobs.forced_risk if isinstance(knobs, OssKnobs) else None
        data = {**body, "skala_resiko": forced} if forced else body
        envelope = {"status": call.endpoint.status, "message": "NIB berhasil diterbitkan.", "data": data}
        return super().success(call, envelope, replayed=replayed)


def create_app(
    knobs: OssKnobs | None = None,
    *,
    ledger_path: str = ":memory:",
    secrets_: dict[str, str] | None = None,
    clock: sim.Clock | None = None,
) -> FastAPI:
    """Build a simulator app with its own knobs, random, ledger and tokens.

    ``secrets_`` may set ``user_key``, ``username`` and ``password`` (default: the hub's
    development ones); ``clock`` (aware datetimes) lets tests expire tokens and fix
    "today"."""
    runtime = sim.SimulatorRuntime.open(knobs or OssKnobs(), ledger_path=ledger_path, clock=clock)
    akun = Akun.dari_rahasia(secrets_ or {})
    tokens = TokenStore(runtime.clock.now)
    dialect = DialekOss(runtime, akun, tokens)
    operations = (
        sim.Operation(name=OPERASI_NIB, path=native.PATH_NIB_UMK, model=native.PermohonanNib, status=201,
                      key=lambda p: p.nomor_referensi, subject=lambda p: f"{p.skala_usaha.name}/{p.kbli}",
                      checks=(periksa_kbli, periksa_skala), produce=terbitkan_nib,
                      summary="Register a micro/small individual business and issue its NIB (applied once per nomor_referensi)"),
        *simbg.operations(runtime),
    )  # fmt: skip
    simulator = sim.Simulator(
        runtime,
        dialect,
        operations,
        title="OSS-RBA simulator",
        description="Native OSS-RBA NIB registration and SIMBG building-approval (PBG) APIs for mpp-hub adapter tests.",
    )
    app = simulator.app

    @app.post(native.PATH_TOKEN)
    async def token(request: Request) -> Response:
        """An access token for the counter's account; user_key first, then the account."""
        raw = await request.body()
        if (stopped := await simulator.gate()) is not None:
            return stopped
        if not dialect.user_key_ok(request):
            return dialect.error(dialect.USER_KEY)
        try:
            akun = native.PermintaanToken.model_validate_json(raw)
        except ValidationError as exc:
            return dialect.error(dialect.MALFORMED, details=sim.problem_lines(exc))
        if not (_sama(akun.username, dialect.akun.username) and _sama(akun.password, dialect.akun.password)):
            return dialect.error(sim.Say(401, native.KodeGalat.KREDENSIAL_SALAH, "Username atau password salah."))
        ttl = runtime.knobs.token_ttl_seconds if isinstance(runtime.knobs, OssKnobs) else 300
        data = native.TokenAkses(access_token=tokens.issue(ttl), expires_in=ttl)
        return JSONResponse(
            {"status": 200, "message": "Sukses", "data": data.model_dump(mode="json")}, headers={"Cache-Control": "no-store"}
        )

    @app.get("/_sim/tokens")
    async def token_counts() -> dict[str, int]:
        """How many tokens were issued, are active, were refused (never the tokens)."""
        return tokens.summary()

    return app


def from_options(options: SimulatorOptions) -> FastAPI:
    """The app `mpp-hub simulator oss` (and the plug-in) starts: ``options.secrets`` may set
    ``user_key``, ``username`` and ``password``; the hub passes the adapter's (``MPP_AGENCIES__OSS__*``)."""
    return create_app(ledger_path=options.ledger_path, secrets_=dict(options.secrets))
