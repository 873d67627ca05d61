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

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote_plus

import httpx
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator

from adapters.djp.native import (
    HEADER_IDEMPOTENCY_KEY,
    PATH_AKTIVASI,
    PATH_KSWP,
    PATH_SKF,
    PATH_TOKEN,
    GalatDjp,
    GalatOAuth,
    HasilAktivasi,
    HasilKswp,
    HasilSkf,
    KodeGalat,
    KodeKriteria,
    PermohonanAktivasi,
    PermohonanSkf,
    StatusAktivasi,
    StatusKswp,
    StatusSkf,
    TokenAkses,
)
from adapters.sdk.http import retry_after_seconds
from adapters.sdk import Adapter, AgencyAnswerInvalid, AgencyRejection, BackendSettings, TransientBackendError
from adapters.sdk.base import BackendStyle
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepStatusReport
from schemas.services.djp import (
    KswpInput,
    KswpOutput,
    NpwpActivationInput,
    NpwpActivationOutput,
    SkfInput,
    SkfOutput,
    TaxComplianceCriterion,
    TaxpayerStatus,
)

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

#: DJP's refusals on the merits, with the canonical code the portal sees.
_REJECTIONS: dict[KodeGalat, str] = {
    KodeGalat.NIK_TIDAK_VALID: "nik_not_matched",
    KodeGalat.NPWP_TIDAK_TERDAFTAR: "npwp_not_registered",
    KodeGalat.SKF_KRITERIA_TIDAK_TERPENUHI: "tax_clearance_criteria_unmet",
    KodeGalat.KUOTA_HABIS: "agency_quota_exhausted",
}
_AUTH_ERRORS = {KodeGalat.TOKEN_WAJIB, KodeGalat.TOKEN_TIDAK_VALID}
_TRANSIENT_STATUS = {408, 425, 500, 502, 503, 504}

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


class DjpConfigurationError(ValueError):
    """The adapter cannot start: the OAuth client is missing or invalid."""


class DjpSettings(BackendSettings):
    """BackendSettings plus DJP's OAuth2 client. Both credentials are required: without
    them every call would fail, so the adapter refuses to start instead."""

    oauth_client_id: str = Field(min_length=1, description="Client id registered at DJP for the hub.")
    oauth_client_secret: SecretStr = Field(description="Its secret; never logged.")
    oauth_token_path: str = Field(default=PATH_TOKEN, description="Token endpoint, relative to base_url.")
    token_refresh_margin_seconds: float = Field(
        default=30.0, ge=0, description="Refresh this long before expiry (capped at a fifth of the token's lifetime)."
    )

    @field_validator("oauth_client_secret")
    @classmethod
    def _secret_not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be blank")
        return value

    @classmethod
    def from_backend(cls, settings: BackendSettings) -> DjpSettings:
        """Validate the agency's extras; the error names fields, never their values."""
        if isinstance(settings, DjpSettings):
            return settings
        data = settings.model_dump()
        missing = [name for name in ("oauth_client_id", "oauth_client_secret") if not data.get(name)]
        if missing:
            raise DjpConfigurationError(
                f"DJP adapter needs an OAuth2 client; missing {', '.join(missing)}: set "
                "MPP_AGENCIES__DJP__OAUTH_CLIENT_ID and MPP_AGENCIES__DJP__OAUTH_CLIENT_SECRET"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_input=False)
            )
            raise DjpConfigurationError(f"invalid DJP adapter settings: {problems}") from None


@dataclass(frozen=True, slots=True)
class _Token:
    value: str = field(repr=False)
    refresh_at: float  # on the adapter's monotonic clock


class DjpAdapter(Adapter):
    agency: ClassVar[str] = "djp"
    operations: ClassVar[frozenset[str]] = frozenset({"npwp_activation", "kswp", "skf"})
    style: ClassVar[BackendStyle] = BackendStyle.SYNC

    settings: DjpSettings

    def __init__(
        self,
        settings: BackendSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        djp = DjpSettings.from_backend(settings)
        super().__init__(djp)
        self._http = httpx.AsyncClient(base_url=str(djp.base_url), timeout=djp.timeout_seconds, transport=transport)
        self._clock = clock
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()
        #: How many tokens were fetched (observable by tests and metrics).
        self.token_fetches = 0

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        if command.operation == "npwp_activation":
            return await self._activate(command, step_id)
        if command.operation == "kswp":
            return await self._kswp(command)
        if command.operation == "skf":
            return await self._skf(command, step_id)
        raise AgencyAnswerInvalid("unsupported_operation", f"djp has no operation {command.operation!r}")

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- operations -------------------------------------------------------------------

    async def _activate(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        data = _step_input(NpwpActivationInput, command)
        try:
            native = PermohonanAktivasi(
                nik=command.applicant.nik,
                nama=command.applicant.name,
                email=data.email,
                nomor_hp="0" + data.phone.removeprefix("+62"),  # DJP stores national form
            )
        except ValidationError as exc:
            raise AgencyAnswerInvalid("invalid_step_input", f"step input cannot be expressed in DJP's format: {exc.error_count()} errors") from None
        response = await self._call("POST", PATH_AKTIVASI, json=native.model_dump(mode="json"), idempotency_key=step_id)
        if not response.is_success:
            raise _error_for(response)
        answer = _parse(HasilAktivasi, response, "activation")
        if answer.status != StatusAktivasi.AKTIF:
            raise _unknown_status(answer.status, "activation")
        if answer.npwp != native.nik:
            raise AgencyAnswerInvalid("agency_answer_invalid", "DJP activated an NPWP other than the applicant's NIK")
        output = _output(
            NpwpActivationOutput,
            npwp=answer.npwp,
            activated_on=answer.tanggal_aktivasi,
            tax_office_code=answer.kode_kpp,
            tax_office_name=answer.nama_kpp,
            already_active=not answer.aktivasi_baru,
            agency_reference=answer.nomor_tanda_terima,
        )
        return _completed(output, answer.status, answer.nomor_tanda_terima)

    async def _kswp(self, command: StepCommand) -> StepStatusReport:
        # A read: no idempotency key; repeating it is harmless.
        data = _step_input(KswpInput, command)
        response = await self._call("GET", PATH_KSWP.format(npwp=data.npwp), params={"keperluan": data.purpose})
        if not response.is_success:
            raise _error_for(response)
        answer = _parse(HasilKswp, response, "KSWP")
        status = _KSWP_STATUS.get(answer.status)
        if status is None:
            raise _unknown_status(answer.status, "KSWP")
        if answer.npwp != data.npwp:
            raise AgencyAnswerInvalid("agency_answer_invalid", "DJP confirmed the status of another NPWP")
        unmet: list[TaxComplianceCriterion] = []
        for criterion in answer.kriteria:
            canonical = _CRITERIA.get(criterion.kode)
            if canonical is None:
                raise AgencyAnswerInvalid("agency_answer_invalid", f"DJP's KSWP answer names an unknown criterion {criterion.kode[:50]!r}")
            if not criterion.terpenuhi:
                unmet.append(canonical)
        output = _output(
            KswpOutput,
            npwp=answer.npwp,
            status=status,
            unmet_criteria=unmet,
            tax_years_checked=answer.tahun_pajak_diperiksa,
            confirmed_at=answer.waktu_konfirmasi,
        )
        return _completed(output, answer.status, None)

    async def _skf(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        data = _step_input(SkfInput, command)
        native = PermohonanSkf(npwp=data.npwp, keperluan=data.purpose)
        response = await self._call("POST", PATH_SKF, json=native.model_dump(mode="json"), idempotency_key=step_id)
        if not response.is_success:
            raise _error_for(response)
        answer = _parse(HasilSkf, response, "SKF")
        if answer.status != StatusSkf.TERBIT:
            raise _unknown_status(answer.status, "SKF")
        if answer.npwp != data.npwp:
            raise AgencyAnswerInvalid("agency_answer_invalid", "DJP issued an SKF for another NPWP")
        output = _output(
            SkfOutput,
            skf_number=answer.nomor_skf,
            npwp=answer.npwp,
            tax_office_code=answer.kode_kpp,
            issued_on=answer.tanggal_terbit,
            valid_until=answer.berlaku_sampai,
        )
        return _completed(output, answer.status, answer.nomor_skf)

    # -- HTTP with a token ---------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        idempotency_key: uuid.UUID | None = None,
    ) -> httpx.Response:
        """One API call with a valid token; on 401 one fresh token and one retry."""
        headers = {HEADER_IDEMPOTENCY_KEY: str(idempotency_key)} if idempotency_key else {}
        token = await self._access_token()
        response = await self._send(method, path, token, headers=headers, json=json, params=params)
        if response.status_code != 401:
            return response
        log.info("DJP refused the cached access token (HTTP 401); fetching a new one and retrying once")
        token = await self._access_token(rejected=token)
        response = await self._send(method, path, token, headers=headers, json=json, params=params)
        if response.status_code == 401:
            raise AgencyAnswerInvalid(
                "agency_auth_failed",
                "DJP refused a freshly issued access token (HTTP 401 twice); check the hub's OAuth client at DJP",
                agency_code=_error_code(response),
            )
        return response

    async def _send(
        self,
        method: str,
        path: str,
        token: str,
        *,
        headers: dict[str, str],
        json: dict[str, Any] | None,
        params: dict[str, str] | None,
    ) -> httpx.Response:
        try:
            return await self._http.request(
                method, path, json=json, params=params, headers={**headers, "Authorization": f"Bearer {token}"}
            )
        except httpx.TimeoutException as exc:
            raise TransientBackendError(f"DJP timed out after {self.settings.timeout_seconds}s") from exc
        except httpx.TransportError as exc:
            raise TransientBackendError(f"DJP connection failed: {type(exc).__name__}") from exc

    async def _access_token(self, *, rejected: str | None = None) -> str:
        """The cached token unless it is due for refresh or was just ``rejected``.

        Under the lock, so N concurrent commands that all need a token cause one fetch;
        a token someone else already replaced is not thrown away again."""
        async with self._token_lock:
            current = self._token
            if current is not None and current.value != rejected and self._clock() < current.refresh_at:
                return current.value
            self._token = None
            self._token = await self._fetch_token()
            return self._token.value

    async def _fetch_token(self) -> _Token:
        settings = self.settings
        # RFC 6749 section 2.3.1: id and secret are form-urlencoded before Basic encoding.
        auth = httpx.BasicAuth(
            quote_plus(settings.oauth_client_id, safe=""), quote_plus(settings.oauth_client_secret.get_secret_value(), safe="")
        )
        started = self._clock()  # the lifetime runs from issue; counting from before the call errs safe
        try:
            response = await self._http.post(
                settings.oauth_token_path,
                data={"grant_type": "client_credentials"},
                auth=auth,
                headers={"Accept": "application/json"},
            )
        except httpx.TimeoutException as exc:
            raise TransientBackendError(f"DJP token endpoint timed out after {settings.timeout_seconds}s") from exc
        except httpx.TransportError as exc:
            raise TransientBackendError(f"DJP token endpoint connection failed: {type(exc).__name__}") from exc
        self.token_fetches += 1
        if response.status_code in _TRANSIENT_STATUS:
            raise TransientBackendError(f"DJP token endpoint HTTP {response.status_code}", retry_after=retry_after_seconds(response))
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
                "agency_answer_invalid", f"DJP token answer is not an RFC 6749 token response: {exc.error_count()} errors"
            ) from None
        if answer.token_type.lower() != "bearer":
            raise AgencyAnswerInvalid("agency_answer_invalid", f"DJP issued a {answer.token_type[:30]!r} token; only Bearer is supported")
        lifetime = answer.expires_in or _DEFAULT_TOKEN_LIFETIME
        margin = min(settings.token_refresh_margin_seconds, lifetime / 5)
        log.info("DJP access token obtained, valid %.0fs (refresh %.1fs early)", lifetime, margin)
        return _Token(value=answer.access_token, refresh_at=started + lifetime - margin)


# ------------------------------------------------------------------------- helpers


def _step_input(model: type[M], command: StepCommand) -> M:
    try:
        return model.model_validate(command.data)
    except ValidationError as exc:
        raise AgencyAnswerInvalid("invalid_step_input", f"step input does not match {command.service}: {exc.error_count()} errors") from None


def _parse(model: type[M], response: httpx.Response, what: str) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors(include_input=False)[:5])
        raise AgencyAnswerInvalid(
            "agency_answer_invalid", f"DJP {what} answer (HTTP {response.status_code}) does not match its schema: {fields}"
        ) from None


def _output(model: type[M], **values: Any) -> M:
    """The canonical output; a native answer that cannot become one is DJP's fault, not a crash."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "output" for e in exc.errors(include_input=False)[:5])
        raise AgencyAnswerInvalid("agency_answer_invalid", f"DJP answer does not fit the canonical output: {fields}") from None


def _completed(output: BaseModel, agency_status: str, agency_ref: str | None) -> StepStatusReport:
    return StepStatusReport(
        status=Status.COMPLETED,
        outputs=output.model_dump(mode="json"),
        agency_status=agency_status[:100],
        agency_ref=agency_ref[:200] if agency_ref else None,
    )


def _unknown_status(status: str, what: str) -> AgencyAnswerInvalid:
    return AgencyAnswerInvalid(
        "agency_status_unknown", f"DJP {what} answered status {status[:50]!r}, which this adapter does not know", agency_code=status[:50]
    )


def _error_for(response: httpx.Response) -> Exception:
    status = response.status_code
    if status in _TRANSIENT_STATUS:
        return TransientBackendError(f"DJP HTTP {status}", retry_after=retry_after_seconds(response))
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
