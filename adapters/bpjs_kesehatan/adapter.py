"""BPJS Kesehatan adapter: canonical ``bpjs.jkn_status`` <-> BPJS's signed JKN
membership check (synchronous).

Each request is signed afresh (``X-cons-id``, ``X-timestamp`` in Unix seconds,
``X-signature`` = base64 HMAC-SHA256 of ``consId&timestamp`` with the consumer
secret), so a retry by the worker is a new signature over the same body; the step id
travels in the body as ``noReferensi``, so the check is recorded once.

Outcome mapping (native -> canonical), the one place it is decided. The envelope's
``metaData.code`` (a string) decides, not the HTTP status: BPJS answers refusals on
the merits with HTTP 200.

==========================================================  ===========================================
BPJS answer                                                 canonical
==========================================================  ===========================================
"200", ``statusPeserta.kode`` "0"                           COMPLETED, ``membership_status`` AKTIF
"200", ``statusPeserta.kode`` "1" / "2" / "3"               COMPLETED, TIDAK_AKTIF with the reason
"200", any other ``statusPeserta.kode``                     FAILED ``agency_status_unknown``
"201" (NIK not in the JKN register)                         REJECTED ``jkn_not_registered``
"202" (card number of someone else)                         REJECTED ``jkn_card_mismatch``
"429" (daily quota)                                         REJECTED ``agency_quota_exhausted``
HTTP 408/425/5xx, timeouts, connection errors               TransientBackendError (retried)
"401" (consumer id, signature or clock refused)             FAILED ``agency_auth_failed``
"409" (``noReferensi`` reused with another body)            FAILED ``agency_idempotency_conflict``
any other code                                              FAILED ``agency_refused_request``
not the envelope, ``response`` not an object, bad schema    FAILED ``agency_answer_invalid``
==========================================================  ===========================================

An inactive membership is an answer, not a failure: whether SKCK or SIM may go on
is the composite's decision (Perpol 2/2023 for SIM, Perpol 6/2023 for SKCK).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

import httpx
from pydantic import Field, ValidationError

from adapters.bpjs_kesehatan.native import (
    HEADER_CONS_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    PATH_PENGECEKAN,
    WIB,
    Amplop,
    HasilPengecekan,
    KodeJenisPeserta,
    KodeMeta,
    KodeStatusPeserta,
    PermintaanPengecekan,
    tanda_tangan,
    waktu_wib,
)
from adapters.sdk import AdapterSettingsError, AgencyAnswerInvalid, AgencyRejection, BackendSettings
from adapters.sdk.base import validated_answer
from adapters.sdk.http import HttpAdapter
from adapters.sdk.settings import NonBlankSecret
from schemas.identifiers import mask_nik
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepStatusReport
from schemas.services.jkn import JknInactiveReason, JknMembershipStatus, JknSegment, JknStatusInput, JknStatusOutput, mask_card_number

log = logging.getLogger(__name__)

AGENCY: Final[str] = "bpjs_kesehatan"

#: The name adapters/bpjs_kesehatan/__init__.py documents; the SDK's one error for unusable settings.
BpjsConfigurationError = AdapterSettingsError

_REJECTIONS: Final[dict[str, str]] = {
    KodeMeta.PESERTA_TIDAK_DITEMUKAN: "jkn_not_registered",
    KodeMeta.NO_KARTU_TIDAK_SESUAI: "jkn_card_mismatch",
    KodeMeta.KUOTA_HABIS: "agency_quota_exhausted",
}
_INVALID: Final[dict[str, str]] = {
    KodeMeta.SIGNATURE_TIDAK_VALID: "agency_auth_failed",
    KodeMeta.REFERENSI_BENTROK: "agency_idempotency_conflict",
}
_INACTIVE: Final[dict[str, JknInactiveReason]] = {
    KodeStatusPeserta.TIDAK_AKTIF_TUNGGAKAN: JknInactiveReason.CONTRIBUTIONS_IN_ARREARS,
    KodeStatusPeserta.TIDAK_AKTIF_PBI_DINONAKTIFKAN: JknInactiveReason.PBI_DEACTIVATED,
    KodeStatusPeserta.TIDAK_AKTIF_PHK: JknInactiveReason.EMPLOYMENT_ENDED,
}
_SEGMENTS: Final[dict[str, JknSegment]] = {k.value: JknSegment(k.value) for k in KodeJenisPeserta}
#: StepError.message allows 2000 characters; an agency's prose must never break a report.
_MAX_MESSAGE: Final[int] = 1000


class BpjsKesehatanSettings(BackendSettings):
    """BackendSettings plus the consumer id and secret BPJS Kesehatan issued to the hub."""

    cons_id: str = Field(
        min_length=1, max_length=100, description="Consumer id (X-cons-id) BPJS issued to the hub (MPP_AGENCIES__BPJS_KESEHATAN__CONS_ID)."
    )
    secret: NonBlankSecret = Field(
        description="Consumer secret that signs every request; never sent, never logged (MPP_AGENCIES__BPJS_KESEHATAN__SECRET)."
    )


class BpjsKesehatanAdapter(HttpAdapter):
    agency: ClassVar[str] = AGENCY
    label: ClassVar[str] = "BPJS Kesehatan"
    operations: ClassVar[frozenset[str]] = frozenset({"jkn_status"})
    settings_model: ClassVar[type[BackendSettings]] = BpjsKesehatanSettings

    settings: BpjsKesehatanSettings

    def __init__(
        self, settings: BackendSettings, *, transport: httpx.AsyncBaseTransport | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(settings, transport=transport)
        #: Unix seconds for ``X-timestamp`` and today's date (tests move it).
        self._clock = clock

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        """Check and record the applicant's JKN status; the step id is ``noReferensi``."""
        self.check_operation(command)
        data = self.parse_input(JknStatusInput, command)
        now = self._clock()
        with self.native_request():
            native = PermintaanPengecekan(
                no_referensi=str(step_id),
                nik=command.applicant.nik,
                no_kartu=data.card_number,
                keperluan=data.purpose,
                tgl_pelayanan=datetime.fromtimestamp(now, UTC).astimezone(WIB).date(),
            )
        log.info("bpjs_kesehatan: checking JKN status of %s (step %s)", mask_nik(command.applicant.nik), step_id)
        body = native.model_dump(mode="json", by_alias=True, exclude_none=True)
        response = await self.send("POST", PATH_PENGECEKAN, what="membership check", json=body, headers=self.signed_headers(now))
        transient = self.transient_error(response, what="membership check")
        if transient is not None:
            raise transient
        answer = _answer(response)
        if answer.no_referensi != native.no_referensi or answer.peserta.nik != native.nik:
            raise AgencyAnswerInvalid("agency_answer_invalid", "BPJS Kesehatan answered about another check or another member")
        if data.card_number is not None and answer.peserta.no_kartu != data.card_number:
            raise AgencyAnswerInvalid("agency_answer_invalid", "BPJS Kesehatan answered with another card number than the one asked about")
        return _report(answer)

    def signed_headers(self, now: float) -> dict[str, str]:
        """The three signature headers for a request sent at ``now`` (Unix seconds)."""
        timestamp = str(int(now))
        cons_id = self.settings.cons_id
        signature = tanda_tangan(cons_id, timestamp, self.settings.secret.get_secret_value())
        return {HEADER_CONS_ID: cons_id, HEADER_TIMESTAMP: timestamp, HEADER_SIGNATURE: signature}


# ---------------------------------------------------------------------- translation


def _answer(response: httpx.Response) -> HasilPengecekan:
    """The ``response`` of a "200" envelope; any other envelope raised as what it means."""
    try:
        envelope = Amplop.model_validate_json(response.content)
    except ValidationError:
        raise AgencyAnswerInvalid(
            "agency_answer_invalid", f"BPJS Kesehatan HTTP {response.status_code}: the body is not a metaData envelope"
        ) from None
    meta = envelope.meta_data
    if meta.code != KodeMeta.OK:
        raise _error_for(meta.code, meta.message, response.status_code)
    if response.status_code != 200:
        raise AgencyAnswerInvalid("agency_answer_invalid", f"BPJS Kesehatan answered metaData 200 with HTTP {response.status_code}")
    if not isinstance(envelope.response, dict):
        raise AgencyAnswerInvalid(
            "agency_answer_invalid", "BPJS Kesehatan's response is not a JSON object (an encrypted or empty response?)"
        )
    raw = {k: v for k, v in envelope.response.items() if k != "ulangan"}  # a replay marker, nothing to translate
    return validated_answer(HasilPengecekan, raw, "BPJS Kesehatan's check does not match its schema", root="response")


def _error_for(code: str, message: str, http_status: int) -> Exception:
    text = message[:_MAX_MESSAGE]
    if code in _REJECTIONS:
        return AgencyRejection(_REJECTIONS[code], text, agency_code=code[:50])
    reason = _INVALID.get(code, "agency_refused_request")
    return AgencyAnswerInvalid(reason, f"BPJS Kesehatan HTTP {http_status}, metaData {code[:10]}: {text}", agency_code=code[:50])


def _report(answer: HasilPengecekan) -> StepStatusReport:
    peserta = answer.peserta
    status_code = peserta.status_peserta.kode
    if status_code != KodeStatusPeserta.AKTIF and status_code not in _INACTIVE:
        raise AgencyAnswerInvalid(
            "agency_status_unknown",
            f"BPJS Kesehatan reported statusPeserta {status_code[:10]!r} ({peserta.status_peserta.keterangan[:80]}), which this adapter does not know",
            agency_code=status_code[:50],
        )
    segment = _SEGMENTS.get(peserta.jenis_peserta.kode)
    if segment is None:
        raise AgencyAnswerInvalid(
            "agency_answer_invalid", f"BPJS Kesehatan reported an unknown segment {peserta.jenis_peserta.kode[:20]!r}"
        )
    output = _output(
        membership_status=JknMembershipStatus.ACTIVE if status_code == KodeStatusPeserta.AKTIF else JknMembershipStatus.INACTIVE,
        inactive_reason=_INACTIVE.get(status_code),
        segment=segment,
        care_class=_care_class(peserta.hak_kelas.kode if peserta.hak_kelas else None),
        primary_care_facility_code=peserta.prov_umum.kd_provider,
        primary_care_facility_name=peserta.prov_umum.nm_provider,
        card_number_masked=mask_card_number(peserta.no_kartu),
        check_number=answer.no_pengecekan,
        checked_at=_checked_at(answer.waktu_pengecekan),
    )
    return StepStatusReport(
        status=Status.COMPLETED,
        outputs=output.model_dump(mode="json"),
        agency_status=peserta.status_peserta.keterangan[:100] or status_code,
        agency_ref=answer.no_pengecekan,
    )


def _care_class(code: str | None) -> int | None:
    if code is None:
        return None
    if code not in ("1", "2", "3"):
        raise AgencyAnswerInvalid("agency_answer_invalid", f"BPJS Kesehatan reported an unknown class {code[:10]!r}")
    return int(code)


def _checked_at(text: str) -> datetime:
    try:
        return waktu_wib(text)
    except ValueError:
        raise AgencyAnswerInvalid("agency_answer_invalid", "BPJS Kesehatan's waktuPengecekan is not 'yyyy-MM-dd HH:mm:ss'") from None


def _output(**values: Any) -> JknStatusOutput:
    return validated_answer(JknStatusOutput, values, "BPJS Kesehatan's answer does not fit bpjs.jkn_status outputs", root="output")


__all__ = ["AGENCY", "BpjsConfigurationError", "BpjsKesehatanAdapter", "BpjsKesehatanSettings"]
