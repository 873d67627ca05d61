"""Specification of the Kemenhaj adapter (adapters/kemenhaj/adapter.py) and of the
SDK's batch style it is the first user of (adapters/sdk/batch.py, BackendStyle.BATCH).

The adapter runs against the Siskohat simulator in process, with the simulator's
clock in the test's hands: a record is ACCEPTED into a batch, a poll before the
cut-off is ACCEPTED again, a poll after it reports the record's line. Answers that
are not the protocol are built with httpx.MockTransport.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import httpx
import pytest

from adapters.kemenhaj.adapter import KemenhajAdapter, KemenhajSettings
from adapters.kemenhaj.contract import CHILD_NIK, REGISTRANT_NIK, cancellation_data, command, registration_data, transfer_data
from adapters.kemenhaj.simulator import DEV_API_KEY, KemenhajKnobs, create_app
from adapters.sdk import AgencyAnswerInvalid, AgencyRejection, TransientBackendError
from adapters.sdk.base import Adapter, BackendStyle, Capability, capability_mismatches
from adapters.sdk.batch import RecordRef, poll_after_cutoff
from adapters.sdk.testing.clock import WIB
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepStatusReport
from schemas.services import haji

NOW = datetime(2026, 1, 14, 9, 30, tzinfo=WIB)


def settings(**changes: Any) -> KemenhajSettings:
    values: dict[str, Any] = {
        "base_url": "http://siskohat.test",
        "api_key": DEV_API_KEY,
        "result_margin_seconds": 0.5,
        "poll_interval_seconds": 2.0,
    }
    return KemenhajSettings.model_validate({**values, **changes})


class Rig:
    """The adapter wired to an in-process simulator whose clock the test moves."""

    def __init__(self) -> None:
        self.clock = [NOW]
        self.app = create_app(KemenhajKnobs(batch_interval_seconds=3), clock=lambda: self.clock[0])
        self.adapter = KemenhajAdapter(settings(), transport=httpx.ASGITransport(app=self.app))

    async def through(self, step: StepCommand, step_id: uuid.UUID | None = None) -> tuple[StepStatusReport, StepStatusReport]:
        """Execute, let the batch close, poll: the receipt and the result."""
        step_id = step_id or uuid.uuid4()
        accepted = await self.adapter.execute(step, step_id)
        self.clock[0] += timedelta(seconds=5)
        assert accepted.agency_ref is not None
        return accepted, await self.adapter.poll(step, step_id, accepted.agency_ref)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    rig = Rig()
    try:
        yield rig
    finally:
        await rig.adapter.aclose()
        rig.app.state.runtime.ledger.close()


def mocked(handler: Callable[[httpx.Request], httpx.Response]) -> KemenhajAdapter:
    return KemenhajAdapter(settings(), transport=httpx.MockTransport(handler))


def registration() -> StepCommand:
    return command("regular_registration", registration_data(deposit_date=NOW.date().isoformat()))


# --- the batch style ----------------------------------------------------------------------


def test_kemenhaj_declares_the_batch_style() -> None:
    assert KemenhajAdapter.style is BackendStyle.BATCH
    assert KemenhajAdapter.capabilities == {Capability.BATCH, Capability.POLL}
    assert capability_mismatches(KemenhajAdapter) == []
    assert KemenhajAdapter.operations == {"regular_registration", "cancellation", "portion_transfer"}


def test_a_batch_adapter_must_also_declare_poll() -> None:
    with pytest.raises(TypeError, match="declare POLL with BATCH"):

        class _NoPoll(Adapter):
            agency: ClassVar[str] = "x"
            operations: ClassVar[frozenset[str]] = frozenset()
            capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.BATCH})

            async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
                raise NotImplementedError


def test_a_record_reference_round_trips_and_a_foreign_one_is_refused() -> None:
    ref = RecordRef("SKH20260114093000000", "0b6e")
    assert RecordRef.parse(str(ref)) == ref and str(ref) == "SKH20260114093000000/0b6e"
    for foreign in ("", "SKH1", "/r", "SKH1/"):
        with pytest.raises(AgencyAnswerInvalid) as caught:
            RecordRef.parse(foreign)
        assert caught.value.code == "agency_ref_invalid"


def test_the_poll_waits_past_the_cut_off_and_never_less_than_the_floor() -> None:
    now = datetime(2026, 1, 14, 2, 30, tzinfo=UTC)
    assert poll_after_cutoff(now + timedelta(seconds=10), margin_seconds=2, floor_seconds=1, now=now) == 12
    assert poll_after_cutoff(now - timedelta(seconds=10), margin_seconds=2, floor_seconds=1, now=now) == 1


# --- against the simulator ------------------------------------------------------------------


async def test_a_registration_is_accepted_into_a_batch_and_completed_from_its_result_file(rig: Rig) -> None:
    step_id = uuid.uuid4()
    accepted = await rig.adapter.execute(registration(), step_id)
    early = await rig.adapter.poll(registration(), step_id, accepted.agency_ref or "")
    rig.clock[0] += timedelta(seconds=5)
    done = await rig.adapter.poll(registration(), step_id, accepted.agency_ref or "")

    assert accepted.status is Status.ACCEPTED and accepted.agency_status == "DITERIMA"
    assert accepted.agency_ref == f"{accepted.outputs['batch']}/{step_id}"
    assert accepted.poll_after_seconds is not None and accepted.poll_after_seconds >= 0.5
    assert (early.status, early.agency_status, early.agency_ref) == (Status.ACCEPTED, "DALAM_BATCH", accepted.agency_ref)
    assert early.poll_after_seconds == pytest.approx(3 + 0.5), "until the cut-off (Retry-After 3) plus the margin"
    assert done.status is Status.COMPLETED and done.agency_status == "TERDAFTAR"
    outputs = haji.RegularHajjRegistrationOutput.model_validate(done.outputs)
    assert (outputs.portion_number, outputs.estimated_departure_year, outputs.registered_on) == ("1350000001", 2050, date(2026, 1, 14))
    assert done.poll_after_seconds is None


async def test_refusals_in_the_result_file_are_rejections_with_the_reason(rig: Rig) -> None:
    await rig.through(registration())
    _, again = await rig.through(registration())
    _, child = await rig.through(command("regular_registration", registration_data(deposit_date="2026-01-14"), nik=CHILD_NIK))

    assert (again.status, again.error and again.error.code, again.error and again.error.agency_code) == (
        Status.REJECTED, "already_registered", "SUDAH_TERDAFTAR",
    )  # fmt: skip
    assert (child.status, child.error and child.error.code) == (Status.REJECTED, "under_minimum_age")


async def test_a_cancellation_reports_the_refund(rig: Rig) -> None:
    _, done = await rig.through(command("cancellation", cancellation_data()))

    assert done.status is Status.COMPLETED
    outputs = haji.HajjCancellationOutput.model_validate(done.outputs)
    assert (outputs.portion_number, outputs.refund_amount, outputs.cancelled_on) == ("1300012345", 25_000_000, date(2026, 1, 14))
    assert outputs.refund_expected_by > outputs.cancelled_on


async def test_a_portion_transfer_reports_the_heirs_slip(rig: Rig) -> None:
    _, done = await rig.through(command("portion_transfer", transfer_data()))
    _, refused = await rig.through(command("portion_transfer", transfer_data(portion_number="1300054322", death_date="2019-01-01")))

    assert done.status is Status.COMPLETED
    assert haji.HajjPortionTransferOutput.model_validate(done.outputs).portion_number == "1300054321"
    assert (refused.status, refused.error and refused.error.code) == (Status.REJECTED, "death_before_transfer_rule")


async def test_a_repeated_step_is_the_same_record(rig: Rig) -> None:
    step_id = uuid.uuid4()
    first = await rig.adapter.execute(registration(), step_id)
    second = await rig.adapter.execute(registration(), step_id)

    assert (first.agency_ref, first.outputs) == (second.agency_ref, second.outputs)
    assert rig.app.state.runtime.ledger.summary()["applied"] == 1


async def test_an_outage_is_transient_and_a_garbled_receipt_is_invalid(rig: Rig) -> None:
    runtime = rig.app.state.runtime
    runtime.set_knobs(runtime.knobs.model_copy(update={"down": True}), reseed=False)
    with pytest.raises(TransientBackendError):
        await rig.adapter.execute(registration(), uuid.uuid4())
    runtime.set_knobs(runtime.knobs.model_copy(update={"down": False, "garble_rate": 1.0}), reseed=False)
    with pytest.raises(AgencyAnswerInvalid):
        await rig.adapter.execute(registration(), uuid.uuid4())


async def test_input_that_does_not_fit_the_service_fails_before_siskohat_is_called(rig: Rig) -> None:
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await rig.adapter.execute(command("cancellation", {"portion_number": "12"}), uuid.uuid4())
    assert caught.value.code == "invalid_step_input"
    assert rig.app.state.runtime.ledger.summary()["applied"] == 0


# --- answers that are not the protocol ----------------------------------------------------


def result_file(*lines: dict[str, Any], batch: str = "SKH1", count: int | None = None) -> httpx.Response:
    header = {"id_batch": batch, "ditutup_pada": "2026-01-14T09:30:03+07:00", "jumlah_rekaman": len(lines) if count is None else count}
    body = "\n".join(json.dumps(x) for x in (header, *lines)) + "\n"
    return httpx.Response(200, text=body, headers={"content-type": "application/x-ndjson"})


def line(step_id: uuid.UUID, **changes: Any) -> dict[str, Any]:
    return {
        "id_rekaman": str(step_id),
        "jenis": "PENDAFTARAN",
        "status": "DITOLAK",
        "kode_tolak": "SUDAH_TERDAFTAR",
        "tanggal": "2026-01-14",
        **changes,
    }


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (lambda s: result_file(line(uuid.uuid4())), "record_missing_from_batch"),
        (lambda s: result_file(line(s), batch="SKH2"), "agency_answer_invalid"),
        (lambda s: result_file(line(s), count=5), "agency_answer_invalid"),
        (lambda s: result_file(line(s, status="DITUNDA")), "agency_status_unknown"),
        (lambda s: result_file(line(s, jenis="PEMBATALAN")), "agency_answer_invalid"),
        (lambda s: result_file(line(s, status="TERDAFTAR", nomor_porsi="12")), "agency_answer_invalid"),
        (lambda s: httpx.Response(200, text="<html>", headers={"content-type": "text/html"}), "agency_answer_invalid"),
        (lambda s: httpx.Response(200, text="{not json\n", headers={"content-type": "application/x-ndjson"}), "agency_answer_invalid"),
        (lambda s: httpx.Response(404, json={"galat": {"kode": "BATCH_TIDAK_DITEMUKAN", "pesan": "x"}}), "agency_answer_invalid"),
    ],
)
async def test_a_result_file_that_does_not_make_sense_is_an_invalid_answer(
    answer: Callable[[uuid.UUID], httpx.Response], code: str
) -> None:
    step_id = uuid.uuid4()
    adapter = mocked(lambda request: answer(step_id))
    try:
        with pytest.raises(AgencyAnswerInvalid) as caught:
            await adapter.poll(registration(), step_id, f"SKH1/{step_id}")
        assert caught.value.code == code
    finally:
        await adapter.aclose()


async def test_the_daily_quota_is_a_refusal_and_a_gateway_error_is_transient() -> None:
    quota = mocked(lambda r: httpx.Response(429, json={"galat": {"kode": "KUOTA_HARIAN_HABIS", "pesan": "habis"}}))
    gateway = mocked(lambda r: httpx.Response(502, text="bad gateway", headers={"Retry-After": "7"}))
    try:
        with pytest.raises(AgencyRejection) as refused:
            await quota.execute(registration(), uuid.uuid4())
        with pytest.raises(TransientBackendError) as transient:
            await gateway.execute(registration(), uuid.uuid4())
    finally:
        await quota.aclose()
        await gateway.aclose()
    assert refused.value.code == "agency_quota_exhausted"
    assert transient.value.retry_after == 7


async def test_the_adapters_log_masks_the_nik(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="adapters.kemenhaj.adapter")
    await rig.adapter.execute(registration(), uuid.uuid4())

    assert "PENDAFTARAN" in caplog.text
    assert REGISTRANT_NIK not in caplog.text
