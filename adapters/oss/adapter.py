"""OSS adapter: canonical ``oss.nib_registration`` <-> OSS-RBA's NIB API, synchronous.

Every call carries the ``user_key`` OSS issued to the hub and a Bearer token obtained
with the counter's OSS account (``POST /oss/api/v1/auth/token``). The adapter

* caches one token and refreshes it shortly before it expires (a margin of
  ``token_refresh_margin_seconds``, at most a fifth of its lifetime);
* on a 401 ``TOKEN_TIDAK_VALID`` drops the token, fetches one more and retries once
  -- safe, because a 401 means nothing was processed and ``nomor_referensi`` (the
  step id) makes the registration idempotent anyway; a second 401 is FAILED
  ``agency_auth_failed``;
* lets concurrent commands share one token fetch (``asyncio.Lock``);
* never logs the user_key, the password, a token or a full NIK.

Mapping (native -> canonical), here and nowhere else:

=====================================================  =========================================
OSS answer                                             canonical
=====================================================  =========================================
201 ``skala_resiko`` R / MR / MT / T                   COMPLETED; risk_level low / medium_low /
                                                       medium_high / high; the NIB is the licence
                                                       only for R, else ``further_licence`` says
                                                       what is still required
201 with another ``skala_resiko``                      FAILED ``agency_status_unknown``
201 whose ``status_perizinan`` contradicts the risk    FAILED ``agency_answer_invalid``
``KBLI_TIDAK_DITEMUKAN``                               REJECTED ``kbli_not_found``
``SKALA_USAHA_TIDAK_SESUAI``                           REJECTED ``business_scale_mismatch``
``KUOTA_HABIS`` (429)                                  REJECTED ``agency_quota_exhausted``
408/425/5xx, timeouts, connection errors               TransientBackendError (retried)
401 after a fresh token; token endpoint 401            FAILED ``agency_auth_failed``
``REFERENSI_BENTROK`` (409)                            FAILED ``agency_idempotency_conflict``
other error codes                                      FAILED ``agency_refused_request``
unreadable or schema-invalid body                      FAILED ``agency_answer_invalid``
=====================================================  =========================================

The building approval (``oss.pbg_application``, through SIMBG, behind the same
``user_key`` and token) is polled: its submission and status mapping are in
:mod:`adapters.oss.pbg`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, ClassVar, Final, TypeVar

import httpx
from pydantic import BaseModel, Field, ValidationError

from adapters.oss import pbg
from adapters.oss.native import (
    HEADER_USER_KEY,
    PATH_NIB_UMK,
    PATH_TOKEN,
    STATUS_UNTUK_RESIKO,
    BalasanGalat,
    BalasanSukses,
    DataNib,
    KodeGalat,
    PermintaanToken,
    PermohonanNib,
    SkalaResiko,
    SkalaUsaha,
    TokenAkses,
)
from adapters.oss.simbg import PATH_PBG, PATH_STATUS_PBG, KeadaanPbg, TandaTerimaPbg
from adapters.sdk import AdapterSettingsError, AgencyAnswerInvalid, AgencyRejection, BackendSettings
from adapters.sdk.base import Capability, validated_answer
from adapters.sdk.http import HttpAdapter, json_answer
from adapters.sdk.settings import NonBlankSecret
from adapters.sdk.tokens import IssuedToken, TokenCache, bearer
from schemas.identifiers import mask_nik
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepStatusReport
from schemas.services.oss import FURTHER_LICENCE, NibRegistrationInput, NibRegistrationOutput, RiskLevel, UmkScale
from schemas.services.pbg import PbgApplicationInput

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

AGENCY: Final[str] = "oss"

_SCALE: Final[dict[UmkScale, SkalaUsaha]] = {UmkScale.MICRO: SkalaUsaha.MIKRO, UmkScale.SMALL: SkalaUsaha.KECIL}
#: Native risk code -> canonical risk level (the table in the module docstring).
RISK_MAP: Final[dict[str, RiskLevel]] = {
    SkalaResiko.RENDAH: RiskLevel.LOW,
    SkalaResiko.MENENGAH_RENDAH: RiskLevel.MEDIUM_LOW,
    SkalaResiko.MENENGAH_TINGGI: RiskLevel.MEDIUM_HIGH,
    SkalaResiko.TINGGI: RiskLevel.HIGH,
}
_REJECTIONS: Final[dict[KodeGalat, str]] = {
    KodeGalat.KBLI_TIDAK_DITEMUKAN: "kbli_not_found",
    KodeGalat.SKALA_USAHA_TIDAK_SESUAI: "business_scale_mismatch",
    KodeGalat.KUOTA_HABIS: "agency_quota_exhausted",
}
_INVALID: Final[dict[KodeGalat, str]] = {
    KodeGalat.REFERENSI_BENTROK: "agency_idempotency_conflict",
    KodeGalat.USER_KEY_TIDAK_VALID: "agency_auth_failed",
    KodeGalat.KREDENSIAL_SALAH: "agency_auth_failed",
    KodeGalat.TOKEN_TIDAK_VALID: "agency_auth_failed",
}
_MAX_MESSAGE: Final[int] = 1000


class OssSettings(BackendSettings):
    """BackendSettings plus what OSS issued to the hub: the ``user_key`` and the
    counter's OSS account. Without them every call fails, so the adapter refuses to start."""

    user_key: NonBlankSecret = Field(description="The user_key OSS issued to the hub (MPP_AGENCIES__OSS__USER_KEY); never logged.")
    username: str = Field(min_length=1, max_length=100, description="The DPMPTSP counter's OSS account (MPP_AGENCIES__OSS__USERNAME).")
    password: NonBlankSecret = Field(description="Its password (MPP_AGENCIES__OSS__PASSWORD); never logged.")
    token_refresh_margin_seconds: float = Field(
        default=30.0, ge=0, description="Refresh this long before expiry (at most a fifth of the lifetime)."
    )
    poll_interval_seconds: float = Field(
        default=3600.0, gt=0, le=86_400,
        description="How long the hub waits before asking SIMBG about a building approval again (MPP_AGENCIES__OSS__POLL_INTERVAL_SECONDS).",
    )  # fmt: skip


#: The name adapters/oss/__init__.py documents; the SDK's one error for unusable settings.
OssConfigurationError = AdapterSettingsError


class OssAdapter(HttpAdapter):
    agency: ClassVar[str] = AGENCY
    label: ClassVar[str] = "OSS"
    operations: ClassVar[frozenset[str]] = frozenset({"nib_registration", pbg.OPERATION})
    #: NIB registrations answer at once; building approvals are polled.
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.POLL})
    settings_model: ClassVar[type[BackendSettings]] = OssSettings

    settings: OssSettings

    def __init__(
        self, settings: BackendSettings, *, transport: httpx.AsyncBaseTransport | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(settings, transport=transport)
        self._tokens = TokenCache(self._fetch_token, label="OSS", refresh_margin=self.settings.token_refresh_margin_seconds, clock=clock)

    @property
    def token_fetches(self) -> int:
        """How many tokens were fetched (observable by tests)."""
        return self._tokens.fetches

    def default_headers(self) -> dict[str, str]:
        return {HEADER_USER_KEY: self.settings.user_key.get_secret_value(), "Accept": "application/json"}

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        """Register the business (or apply for a building approval); the step id is
        ``nomor_referensi``, applied once by OSS."""
        self.check_operation(command)
        if command.operation == pbg.OPERATION:
            return await self._apply_for_pbg(command, step_id)
        data = self.parse_input(NibRegistrationInput, command)
        with self.native_request():
            native = PermohonanNib(
                nomor_referensi=str(step_id),
                nik_penanggung_jwb=command.applicant.nik,
                nama_penanggung_jwb=command.applicant.name,
                nama_usaha=data.business_name,
                kbli=data.kbli,
                skala_usaha=_SCALE[data.business_scale],
                kd_daerah=data.regency_code,
                modal_usaha=data.capital,
            )
        log.info(
            "oss: registering KBLI %s (%s) for %s (step %s)", native.kbli, native.skala_usaha.name, mask_nik(command.applicant.nik), step_id
        )
        response = await self._call("POST", PATH_NIB_UMK, json=native.model_dump(mode="json"))
        if response.status_code != 201:
            raise self.transient_error(response, what="NIB registration") or _error_for(response, "NIB registration")
        answer = _parse(DataNib, _data(response, "NIB registration"), "NIB registration")
        if answer.nomor_referensi != native.nomor_referensi or answer.kbli != native.kbli:
            raise AgencyAnswerInvalid("agency_answer_invalid", "OSS answered about another registration (nomor_referensi or KBLI differ)")
        return _completed(answer)

    async def poll(self, command: StepCommand, step_id: uuid.UUID, agency_ref: str) -> StepStatusReport:
        """Where a building approval is now (NIB registrations are never polled)."""
        self.check_operation(command)
        if command.operation != pbg.OPERATION:
            raise AgencyAnswerInvalid("unsupported_operation", f"OSS answers {command.operation!r} at once; there is nothing to poll")
        response = await self._call("GET", PATH_STATUS_PBG.format(nomor_registrasi=agency_ref), what="PBG status")
        if response.status_code != 200:
            raise self.transient_error(response, what="PBG status") or _error_for(response, "PBG status")
        answer = _parse(KeadaanPbg, _data(response, "PBG status"), "PBG status")
        if answer.nomor_registrasi != agency_ref:
            raise AgencyAnswerInvalid(
                "agency_answer_invalid", f"SIMBG answered about {answer.nomor_registrasi[:40]}, asked about {agency_ref}"
            )
        return pbg.report(answer, agency_ref, self.settings.poll_interval_seconds, self._issued)

    async def _apply_for_pbg(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        data = self.parse_input(PbgApplicationInput, command)
        with self.native_request():
            native = pbg.application(data, command, str(step_id))
        log.info("oss: PBG application (%s, %d floors) for %s (step %s)", native.fungsi_bangunan.name, native.jumlah_lantai,
                 mask_nik(command.applicant.nik), step_id)  # fmt: skip
        response = await self._call("POST", PATH_PBG, what="PBG application", json=native.model_dump(mode="json"))
        if response.status_code != 201:
            raise self.transient_error(response, what="PBG application") or _error_for(response, "PBG application")
        receipt = _parse(TandaTerimaPbg, _data(response, "PBG application"), "PBG application")
        if receipt.nomor_referensi != native.nomor_referensi:
            raise AgencyAnswerInvalid("agency_answer_invalid", "SIMBG acknowledged another application (nomor_referensi differs)")
        return StepStatusReport(
            status=Status.ACCEPTED,
            outputs={"registration_number": receipt.nomor_registrasi},
            agency_status=receipt.status.value,
            agency_ref=receipt.nomor_registrasi,
            poll_after_seconds=self.settings.poll_interval_seconds,
        )

    def _issued(self, answer: KeadaanPbg) -> StepStatusReport:
        with self.canonical_output():
            output = pbg.output(answer)
        return self.completed(output, answer.status, answer.nomor_registrasi)

    # -- HTTP with a token ---------------------------------------------------------------

    async def _call(self, method: str, path: str, *, what: str = "NIB registration", json: dict[str, Any] | None = None) -> httpx.Response:
        """One API call with a valid token: on 401 one fresh token and one retry."""

        async def call(token: str) -> httpx.Response:
            return await self.send(method, path, what=what, json=json, headers=bearer(token))

        response = await self._tokens.send(call)
        if response.status_code == 401:
            error = _error_body(response)
            raise AgencyAnswerInvalid(
                "agency_auth_failed",
                "OSS refused a freshly issued access token (HTTP 401 twice); check MPP_AGENCIES__OSS__USER_KEY",
                agency_code=error.kode.value if error else None,
            )
        return response

    async def _fetch_token(self) -> IssuedToken:
        settings = self.settings
        body = PermintaanToken(username=settings.username, password=settings.password.get_secret_value())
        response = await self.send("POST", PATH_TOKEN, what="token endpoint", json=body.model_dump())
        if response.status_code != 200:
            error = _error_body(response)
            transient = self.transient_error(response, what="token endpoint")
            if transient is not None:
                raise transient
            raise AgencyAnswerInvalid(
                "agency_auth_failed",
                f"OSS token endpoint refused the hub (HTTP {response.status_code}, {error.kode.value if error else 'unreadable answer'}); "
                "check MPP_AGENCIES__OSS__USER_KEY / _USERNAME / _PASSWORD",
                agency_code=error.kode.value if error else None,
            )
        token = _parse(TokenAkses, _data(response, "token"), "token")
        return IssuedToken(value=token.access_token, lifetime=token.expires_in)


# ---------------------------------------------------------------------- translation


def _data(response: httpx.Response, what: str) -> dict[str, Any]:
    """The ``data`` of OSS's success envelope; anything else is an invalid answer."""
    return dict(json_answer(BalasanSukses, response, f"OSS {what} is not an OSS success envelope").data)


def _parse(model: type[M], raw: dict[str, Any], what: str) -> M:
    return validated_answer(model, raw, f"OSS {what} answer does not match its schema")


def _error_body(response: httpx.Response) -> BalasanGalat | None:
    try:
        return BalasanGalat.model_validate_json(response.content)
    except ValidationError:
        return None


def _error_for(response: httpx.Response, what: str) -> Exception:
    """A non-transient error answer: a refusal on the merits, or OSS refusing our request."""
    error = _error_body(response)
    if error is None:
        return AgencyAnswerInvalid("agency_answer_invalid", f"OSS {what}: HTTP {response.status_code} with an unreadable body")
    message = error.message[:_MAX_MESSAGE]
    if error.kode in _REJECTIONS:
        return AgencyRejection(_REJECTIONS[error.kode], message, agency_code=error.kode.value)
    code = _INVALID.get(error.kode, "agency_refused_request")
    return AgencyAnswerInvalid(code, f"OSS {what}: HTTP {response.status_code}: {message}", agency_code=error.kode.value)


def _completed(answer: DataNib) -> StepStatusReport:
    risk = RISK_MAP.get(answer.skala_resiko)
    if risk is None:
        raise AgencyAnswerInvalid(
            "agency_status_unknown",
            f"OSS reported risk level {answer.skala_resiko[:10]!r}, which this adapter does not know",
            agency_code=answer.skala_resiko[:50],
        )
    if answer.status_perizinan != STATUS_UNTUK_RESIKO[SkalaResiko(answer.skala_resiko)]:
        raise AgencyAnswerInvalid(
            "agency_answer_invalid", f"OSS gave a {answer.skala_resiko} risk NIB the status {answer.status_perizinan[:60]!r}"
        )
    further = FURTHER_LICENCE[risk]
    values = {
        "nib": answer.nib,
        "issued_on": answer.tgl_terbit_nib,
        "kbli": answer.kbli,
        "risk_level": risk,
        "licence_complete": further is None,
        "further_licence": further,
        "note": answer.keterangan,
    }
    output = validated_answer(
        NibRegistrationOutput, values, "OSS's NIB does not fit oss.nib_registration outputs", code="agency_output_invalid"
    )
    return StepStatusReport(
        status=Status.COMPLETED, outputs=output.model_dump(mode="json"), agency_status=answer.status_perizinan, agency_ref=answer.nib
    )


__all__ = ["RISK_MAP", "OssAdapter", "OssConfigurationError", "OssSettings"]
