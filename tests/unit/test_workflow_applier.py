"""The applier writes exactly what the engine decided: each status change with its
history row, each command or cancel request in the outbox, the case's result.

ORM rows are built in memory and the session only records what is added, so no
database is needed; the check is that the rows afterwards say what ``evolve`` says.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.catalogue import Catalogue
from hub.db.models import Case, HistoryRecord, OutboxMessage, Step
from hub.domain.decisions import evolve_all
from hub.domain.engine import decide
from hub.domain.workflow import Trace, Workflow, plan, snapshot
from schemas import topics
from schemas.envelope import Envelope, Headers, MessageType
from schemas.lifecycle import Status
from support.samples import APPLICANT, case_row, vehicle_transfer_data

CATALOGUE = Catalogue.load()
NOW = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
TRACE = Trace(correlation_id="corr-1", traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01")
#: As the request validation left it: the plate normalised.
TRANSFER_DATA = vehicle_transfer_data(plate="BA 2024 LA")


class RecordingSession:
    """Stands in for the caller's AsyncSession: the applier only adds rows to it."""

    def __init__(self) -> None:
        self.added: list[Any] = []

    def add(self, row: Any) -> None:
        self.added.append(row)

    def of(self, kind: type) -> list[Any]:
        return [row for row in self.added if isinstance(row, kind)]


def workflow() -> Workflow:
    return Workflow(CATALOGUE, deadline=lambda start, days: start + timedelta(days=days), now=lambda: NOW)


def new_case(service: str, data: dict[str, Any], kind: str) -> tuple[Case, list[Step]]:
    case = case_row(service, applicant=APPLICANT, data=data, kind=kind)
    return case, plan(case, CATALOGUE)


def test_applying_writes_what_the_decisions_say_with_history_and_outbox() -> None:
    case, steps = new_case("mpp.vehicle_ownership_transfer", TRANSFER_DATA, "composite")
    before = snapshot(case, steps)
    decisions = decide(before, CATALOGUE)
    session = RecordingSession()
    message_id = uuid.uuid4()

    workflow().apply(session, case, steps, decisions, message_id=message_id, trace=TRACE)  # type: ignore[arg-type]

    assert snapshot(case, steps) == evolve_all(before, decisions)
    check, transfer = steps
    assert check.sla_due_at == NOW + timedelta(days=1), "the SLA clock starts when the step is routed"
    assert transfer.sla_due_at is None and transfer.status == Status.SUBMITTED
    history = [(h.step_id, h.from_status, h.to_status, h.note, h.message_id) for h in session.of(HistoryRecord)]
    assert history == [
        (check.id, "SUBMITTED", "ROUTED", "to polri", message_id),
        (None, "SUBMITTED", "ROUTED", None, message_id),
        (None, "ROUTED", "IN_PROCESS", None, message_id),
    ]
    [outbox] = session.of(OutboxMessage)
    assert outbox.topic == topics.commands("polri")
    assert (outbox.headers[Headers.CORRELATION_ID], outbox.headers[Headers.TRACEPARENT]) == (TRACE.correlation_id, TRACE.traceparent)
    envelope = Envelope.from_bytes(outbox.value)
    assert (envelope.request_id, envelope.step_id, envelope.type, envelope.source) == (
        case.id,
        check.id,
        MessageType.STEP_COMMAND,
        "router",
    )
    assert envelope.payload["data"] == check.inputs and envelope.payload["operation"] == "vehicle_check"
    assert envelope.payload["applicant"] == APPLICANT


def test_a_failed_start_and_the_skips_it_causes_are_written_with_their_reasons() -> None:
    case, steps = new_case("mpp.vehicle_ownership_transfer", TRANSFER_DATA, "composite")
    check, transfer = steps
    check.status, check.outputs = Status.COMPLETED.value, {"plate": "BA 2024 LA"}  # no physical_check for the transfer
    case.status = Status.IN_PROCESS.value
    before = snapshot(case, steps)
    decisions = decide(before, CATALOGUE)
    session = RecordingSession()

    workflow().apply(session, case, steps, decisions, message_id=None, trace=TRACE)  # type: ignore[arg-type]

    assert snapshot(case, steps) == evolve_all(before, decisions)
    assert transfer.status == Status.FAILED and transfer.error is not None and transfer.error["code"] == "step_inputs_invalid"
    assert case.status == Status.FAILED and case.error is not None and case.error["message"].startswith("transfer: ")
    assert [(h.to_status, h.note) for h in session.of(HistoryRecord)] == [("FAILED", "inputs could not be built"), ("FAILED", None)]
    assert session.of(OutboxMessage) == [], "nothing goes to an agency"


def test_cancel_writes_skips_notes_cancel_requests_and_the_cancelled_case() -> None:
    case, steps = new_case("mpp.job_seeker_pack", {}, "composite")
    skck, passport, sim = steps
    skck.status, passport.status = Status.IN_PROCESS.value, Status.ACCEPTED.value
    passport.agency_ref, passport.inputs = "IMI-7", {"passport_type": "electronic"}
    case.status = Status.IN_PROCESS.value
    session = RecordingSession()

    workflow().cancel(session, case, steps, reason="found a job", trace=TRACE)  # type: ignore[arg-type]

    assert (case.status, skck.status, passport.status, sim.status) == ("CANCELLED", "IN_PROCESS", "ACCEPTED", "CANCELLED")
    assert [(h.step_id, h.from_status, h.to_status, h.note) for h in session.of(HistoryRecord)] == [
        (skck.id, "IN_PROCESS", "IN_PROCESS", "polri cannot cancel a running step; it continues and its result is kept"),
        (passport.id, "ACCEPTED", "ACCEPTED", "cancellation requested from imigrasi"),
        (sim.id, "SUBMITTED", "CANCELLED", "cancelled before it started: found a job"),
        (None, "IN_PROCESS", "CANCELLED", "cancelled by the portal: found a job"),
    ]
    [outbox] = session.of(OutboxMessage)
    envelope = Envelope.from_bytes(outbox.value)
    assert outbox.topic == topics.commands("imigrasi")
    assert (envelope.step_id, envelope.type, envelope.source) == (passport.id, MessageType.STEP_CANCEL, "api")
    assert envelope.payload["agency_ref"] == "IMI-7" and envelope.payload["reason"] == "found a job"
    assert envelope.payload["command"]["data"] == {"passport_type": "electronic"}


def test_a_single_service_case_takes_its_steps_result() -> None:
    case, [main] = new_case("samsat.pkb_annual", {"plate": "BA 1 A"}, "single")
    main.status, main.outputs = Status.COMPLETED.value, {"receipt": "R-1"}
    case.status = Status.IN_PROCESS.value
    session = RecordingSession()

    workflow().apply(session, case, [main], decide(snapshot(case, [main]), CATALOGUE), message_id=None, trace=TRACE)  # type: ignore[arg-type]

    assert (case.status, case.outputs, case.error) == ("COMPLETED", {"receipt": "R-1"}, None)
