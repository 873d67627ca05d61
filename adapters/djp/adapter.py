"""DJP adapter: canonical <-> DJP's synchronous REST/JSON behind an OAuth2 token.

Every API call carries a bearer token from DJP's client-credentials endpoint (RFC
6749 section 4.4). Tokens expire and can be revoked at any moment, so the adapter

* caches one token and refreshes it shortly *before* it expires (a margin of
  ``token_refresh_margin_seconds``, at most a fifth of the token's lifetime, so a
  60-second token is not refreshed on every call);
* on a 401 drops the token, fetches a new one and retries the call *once* -- safe
  for writes, because a 401 means the call was never processed and the step id
  travels as ``X-Idempotency-Key`` anyway; a second 401 is FAILED
  ``agency_auth_failed`` (retrying cannot fix credentials);
* lets concurrent commands share one token fetch (``asyncio.Lock``);
* never logs the client secret or a token (``SecretStr``, no URLs or headers in logs).

Status mapping (native -> canonical), the one place it is decided:

=====================================================  =========================================
DJP answer                                             canonical
=====================================================  =========================================
aktivasi 2xx ``status: AKTIF`` (new or already active)  COMPLETED (``already_active`` says which)
KSWP 2xx ``status: VALID`` / ``TIDAK_VALID``            COMPLETED; the verdict is the output
SKF 2xx ``status: TERBIT``                              COMPLETED
any other ``status`` in a 2xx                           FAILED ``agency_status_unknown``
``NIK_TIDAK_VALID`` (Dukcapil did not match)            REJECTED ``nik_not_matched``
``NPWP_TIDAK_TERDAFTAR``                                REJECTED ``npwp_not_registered``
``SKF_KRITERIA_TIDAK_TERPENUHI``                        REJECTED ``tax_clearance_criteria_unmet``
``KUOTA_HABIS`` (429)                                   REJECTED ``agency_quota_exhausted``
408/425/5xx, timeouts, connection errors               TransientBackendError (retried, then paused)
401 after a fresh token; token endpoint 400/401/403     FAILED ``agency_auth_failed``
other known ``kode`` (bad request, key reuse)           FAILED ``agency_refused_request``
unreadable, malformed or schema-invalid body            FAILED ``agency_answer_invalid``
=====================================================  =========================================
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote_plus

import httpx
from pydantic import BaseModel, Field, ValidationError

from adapters.djp.native import (
    HEADER_IDEMPOTENCY_KEY,
    PATH_AKTIVASI,
    PATH_KSWP,
    PATH_NPWP_BADAN,
    PATH_SKF,
    PATH_TOKEN,
    GalatDjp,
    GalatOAuth,
    HasilAktivasi,
    HasilKswp,
    HasilNpwpBadan,
    HasilSkf,
    KodeGalat,
    KodeKriteria,
    Pengurus,
    PermohonanAktivasi,
    PermohonanNpwpBadan,
    PermohonanSkf,
    StatusAktivasi,
    StatusKswp,
    StatusPendaftaran,
    StatusSkf,
    TokenAkses,
)
from adapters.sdk import AdapterSettingsError, AgencyAnswerInvalid, AgencyRejection, BackendSettings
from adapters.sdk.http import HttpAdapter, json_answer
from adapters.sdk.settings import NonBlankSecret
from adapters.sdk.tokens import IssuedToken, TokenCache, bearer
from schemas.messages import StepCommand, StepStatusReport
from schemas.services.djp import (
    EntityNpwpInput,
    EntityNpwpOutput,
    KswpInput,
    KswpOutput,
    NpwpActivationInput,
    NpwpActivationOutput,
    SkfInput,
    SkfOutput,
    TaxComplianceCriterion,
    TaxpayerStatus,
)
from schemas.validation import describe

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
#: The answers to DJP's writes: each says its status and the NPWP it is about.
W = TypeVar("W", HasilAktivasi, HasilSkf, HasilNpwpBadan)

#: DJP's refusals on the merits, with the canonical code the portal sees.
_REJECTIONS: dict[KodeGalat, str] = {
    KodeGalat.NIK_TIDAK_VALID: "nik_not_matched",
    KodeGalat.NPWP_TIDAK_TERDAFTAR: "npwp_not_registered",
    KodeGalat.SKF_KRITERIA_TIDAK_TERPENUHI: "tax_clearance_criteria_unmet",
    KodeGalat.KUOTA_HABIS: "agency_quota_exhausted",
    KodeGalat.BADAN_SUDAH_TERDAFTAR: "entity_already_registered",
    KodeGalat.PENANGGUNG_JAWAB_BUKAN_PENGURUS: "applicant_not_an_officer",
}
_AUTH_ERRORS = {KodeGalat.TOKEN_WAJIB, KodeGalat.TOKEN_TIDAK_VALID}

_CRITERIA: dict[str, TaxComplianceCriterion] = {
    KodeKriteria.NPWP_AKTIF: TaxComplianceCriterion.NPWP_ACTIVE,
    KodeKriteria.SPT_TAHUNAN_2_TAHUN: TaxComplianceCriterion.ANNUAL_RETURNS_FILED,
    KodeKriteria.SPT_MASA_PPN_3_MASA: TaxComplianceCriterion.VAT_RETURNS_FILED,
    KodeKriteria.TIDAK_ADA_UTANG_PAJAK: TaxComplianceCriterion.NO_TAX_DEBT,
    KodeKriteria.TIDAK_DALAM_PENYIDIKAN: TaxComplianceCriterion.NOT_UNDER_INVESTIGATION,
}
_KSWP_STATUS = {StatusKswp.VALID.value: TaxpayerStatus.VALID, StatusKswp.TIDAK_VALID.value: TaxpayerStatus.NOT_VALID}

#: Lifetime assumed when the token answer omits ``expires_in`` (it is only RECOMMENDED).
_DEFAULT_TOKEN_LIFETIME = 60.0
#: StepError.message allows 2000 characters; an agency's prose must never break a report.
_MAX_MESSAGE = 1000


#: The name adapters/djp/__init__.py documents; the SDK's one error for unusable settings.
DjpConfigurationError = AdapterSettingsError


class DjpSettings(BackendSettings):
    """BackendSettings plus DJP's OAuth2 client. Both credentials are required: without
    them every call would fail, so the adapter refuses to start instead."""

    oauth_client_id: str = Field(min_length=1, description="Client id registered at DJP for the hub.")
    oauth_client_secret: NonBlankSecret = Field(description="Its secret; never logged.")
    oauth_token_path: str = Field(default=PATH_TOKEN, description="Token endpoint, relative to base_url.")
    token_refresh_margin_seconds: float = Field(
        default=30.0, ge=0, description="Refresh this long before expiry (capped at a fifth of the token's lifetime)."
    )


class DjpAdapter(HttpAdapter):
    agency: ClassVar[str] = "djp"
    label: ClassVar[str] = "DJP"
    operations: ClassVar[frozenset[str]] = frozenset({"npwp_activation", "kswp", "skf", "npwp_entity_registration"})
    settings_model: ClassVar[type[BackendSettings]] = DjpSettings

    settings: DjpSettings

    def __init__(
        self,
        settings: BackendSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(settings, transport=transport)
        self._tokens = TokenCache(self._fetch_token, label="DJP", refresh_margin=self.settings.token_refresh_margin_seconds, clock=clock)

    @property
    def token_fetches(self) -> int:
        """How many tokens were fetched (observable by tests and metrics)."""
        return self._tokens.fetches

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        self.check_operation(command)
        operation = {
            "npwp_activation": self._activate,
            "kswp": self._kswp,
            "skf": self._skf,
            "npwp_entity_registration": self._register_entity,
        }[command.operation]
        return await operation(command, step_id)

    # -- operations -------------------------------------------------------------------

    async def _activate(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        data = self.parse_input(NpwpActivationInput, command)
        with self.native_request():
            native = PermohonanAktivasi(
                nik=command.applicant.nik,
                nama=command.applicant.name,
                email=data.email,
                nomor_hp="0" + data.phone.removeprefix("+62"),  # DJP stores national form
            )
        answer = await self._write(PATH_AKTIVASI, native, HasilAktivasi, "activation", step_id, done=StatusAktivasi.AKTIF, npwp=native.nik)
        with self.canonical_output():
            output = NpwpActivationOutput(
                npwp=answer.npwp,
                activated_on=answer.tanggal_aktivasi,
                tax_office_code=answer.kode_kpp,
                tax_office_name=answer.nama_kpp,
                already_active=not answer.aktivasi_baru,
                agency_reference=answer.nomor_tanda_terima,
            )
        return self.completed(output, answer.status, answer.nomor_tanda_terima)

    async def _kswp(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        del step_id  # a read: no idempotency key; repeating it is harmless
        data = self.parse_input(KswpInput, command)
        answer = await self._call("GET", PATH_KSWP.format(npwp=data.npwp), HasilKswp, "KSWP", params={"keperluan": data.purpose})
        status = _KSWP_STATUS.get(answer.status)
        if status is None:
            raise _unknown_status(answer.status, "KSWP")
        _check_npwp(answer.npwp, data.npwp, "KSWP")
        unmet: list[TaxComplianceCriterion] = []
        for criterion in answer.kriteria:
            canonical = _CRITERIA.get(criterion.kode)
            if canonical is None:
                raise AgencyAnswerInvalid("agency_answer_invalid", f"DJP's KSWP answer names an unknown criterion {criterion.kode[:50]!r}")
            if not criterion.terpenuhi:
                unmet.append(canonical)
        with self.canonical_output():
            output = KswpOutput(
                npwp=answer.npwp,
                status=status,
                unmet_criteria=unmet,
                tax_years_checked=answer.tahun_pajak_diperiksa,
                confirmed_at=answer.waktu_konfirmasi,
            )
        return self.completed(output, answer.status)

    async def _skf(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        data = self.parse_input(SkfInput, command)
        with self.native_request():
            native = PermohonanSkf(npwp=data.npwp, keperluan=data.purpose)
        answer = await self._write(PATH_SKF, native, HasilSkf, "SKF", step_id, done=StatusSkf.TERBIT, npwp=data.npwp)
        with self.canonical_output():
            output = SkfOutput(
                skf_number=answer.nomor_skf,
                npwp=answer.npwp,
                tax_office_code=answer.kode_kpp,
                issued_on=answer.tanggal_terbit,
                valid_until=answer.berlaku_sampai,
            )
        return self.completed(output, answer.status, answer.nomor_skf)

    async def _register_entity(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        data = self.parse_input(EntityNpwpInput, command)
        with self.native_request():
            native = PermohonanNpwpBadan(
                nama_badan=data.entity_name,
                bentuk_badan=data.entity_form.value.upper(),
                nomor_akta=data.deed_number,
                tanggal_akta=data.deed_date,
                nomor_sk_ahu=data.ahu_decree_number,
                nib=data.nib,
                alamat=data.address,
                email=data.email,
                nomor_hp="0" + data.phone.removeprefix("+62"),
                pengurus=[Pengurus(nik=o.nik, nama=o.name, jabatan=o.position) for o in data.officers],
                nik_penanggung_jawab=command.applicant.nik,
            )
        answer = await self._write(
            PATH_NPWP_BADAN, native, HasilNpwpBadan, "entity registration", step_id, done=StatusPendaftaran.TERDAFTAR, npwp=None
        )
        with self.canonical_output():
            output = EntityNpwpOutput(
                npwp=answer.npwp,
                nitku=answer.nitku,
                registered_on=answer.tanggal_terdaftar,
                tax_office_code=answer.kode_kpp,
                tax_office_name=answer.nama_kpp,
                agency_reference=answer.nomor_tanda_terima,
            )
        return self.completed(output, answer.status, answer.nomor_tanda_terima)

    # -- HTTP with a token ---------------------------------------------------------------

    async def _write(
        self, path: str, native: BaseModel, reply: type[W], what: str, step_id: uuid.UUID, *, done: str, npwp: str | None
    ) -> W:
        """A write, the step id its idempotency key; the answer must say ``done`` about
        ``npwp`` (None: a registration, whose NPWP DJP assigns in its answer)."""
        answer = await self._call("POST", path, reply, what, json=native.model_dump(mode="json"), idempotency_key=step_id)
        if answer.status != done:
            raise _unknown_status(answer.status, what)
        if npwp is not None:
            _check_npwp(answer.npwp, npwp, what)
        return answer

    async def _call(
        self,
        method: str,
        path: str,
        reply: type[M],
        what: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        idempotency_key: uuid.UUID | None = None,
    ) -> M:
        """One API call with a valid token (on 401 one fresh token and one retry); its
        success answer as ``reply``, any other answer raised as the SDK error it means."""
        headers = {HEADER_IDEMPOTENCY_KEY: str(idempotency_key)} if idempotency_key else {}

        async def call(token: str) -> httpx.Response:
            return await self.send(method, path, json=json, params=params, headers={**headers, **bearer(token)})

        response = await self._tokens.send(call)
        if response.status_code == 401:
            raise AgencyAnswerInvalid(
                "agency_auth_failed",
                "DJP refused a freshly issued access token (HTTP 401 twice); check the hub's OAuth client at DJP",
                agency_code=_error_code(response),
            )
        if not response.is_success:
            raise self.transient_error(response) or _error_for(response)
        return json_answer(reply, response, f"DJP {what} answer does not match its schema")

    async def _fetch_token(self) -> IssuedToken:
        settings = self.settings
        # RFC 6749 section 2.3.1: id and secret are form-urlencoded before Basic encoding.
        auth = httpx.BasicAuth(
            quote_plus(settings.oauth_client_id, safe=""), quote_plus(settings.oauth_client_secret.get_secret_value(), safe="")
        )
        response = await self.send(
            "POST",
            settings.oauth_token_path,
            what="token endpoint",
            data={"grant_type": "client_credentials"},
            auth=auth,
            headers={"Accept": "application/json"},
        )
        transient = self.transient_error(response, what="token endpoint")
        if transient is not None:
            raise transient
        if response.status_code != 200:
            try:
                error: str | None = GalatOAuth.model_validate_json(response.content).error[:50]
            except ValidationError:
                error = None
            raise AgencyAnswerInvalid(
                "agency_auth_failed",
                f"DJP token endpoint refused the hub's OAuth client (HTTP {response.status_code}, {error or 'unreadable answer'}); "
                "check MPP_AGENCIES__DJP__OAUTH_CLIENT_ID / _SECRET",
                agency_code=error,
            )
        try:
            answer = TokenAkses.model_validate_json(response.content)
        except ValidationError as exc:
            raise AgencyAnswerInvalid(
                "agency_answer_invalid", f"DJP token answer is not an RFC 6749 token response: {describe(exc)}"
            ) from None
        if answer.token_type.lower() != "bearer":
            raise AgencyAnswerInvalid("agency_answer_invalid", f"DJP issued a {answer.token_type[:30]!r} token; only Bearer is supported")
        return IssuedToken(value=answer.access_token, lifetime=answer.expires_in or _DEFAULT_TOKEN_LIFETIME)


# ------------------------------------------------------------------------- helpers


def _check_npwp(answered: str, asked: str, what: str) -> None:
    if answered != asked:
        raise AgencyAnswerInvalid("agency_answer_invalid", f"DJP's {what} answer is about another NPWP than the one asked")


def _unknown_status(status: str, what: str) -> AgencyAnswerInvalid:
    return AgencyAnswerInvalid(
        "agency_status_unknown", f"DJP {what} answered status {status[:50]!r}, which this adapter does not know", agency_code=status[:50]
    )


def _error_for(response: httpx.Response) -> Exception:
    """A non-transient error answer: a refusal on the merits, an auth failure, or DJP refusing our request."""
    status = response.status_code
    try:
        error = GalatDjp.model_validate_json(response.content)
    except ValidationError:
        return AgencyAnswerInvalid("agency_answer_invalid", f"DJP HTTP {status} with an unreadable body")
    message = error.pesan[:_MAX_MESSAGE]
    if error.kode in _REJECTIONS:
        if error.kode is KodeGalat.SKF_KRITERIA_TIDAK_TERPENUHI and error.rincian:
            unmet = [_CRITERIA[c].value if c in _CRITERIA else c[:50] for c in error.rincian[:10]]
            message = f"unmet criteria: {', '.join(unmet)}. {message}"[:_MAX_MESSAGE]
        return AgencyRejection(_REJECTIONS[error.kode], message, agency_code=error.kode.value)
    if error.kode in _AUTH_ERRORS:
        return AgencyAnswerInvalid("agency_auth_failed", message, agency_code=error.kode.value)
    return AgencyAnswerInvalid("agency_refused_request", message, agency_code=error.kode.value)


def _error_code(response: httpx.Response) -> str | None:
    try:
        return GalatDjp.model_validate_json(response.content).kode.value
    except ValidationError:
        return None
