"""Specification of the bus envelope (schemas/envelope.py)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from schemas.envelope import SCHEMA_VERSION, Envelope, MessageType, new_traceparent

REQUEST_ID = uuid.UUID("0b9c5c43-7a3e-4f0e-9d2a-6a8f3c1e5b77")
STEP_ID = uuid.UUID("5e2d1f6a-3c4b-4a59-8e7d-1f2a3b4c5d6e")
TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")


def full_envelope() -> Envelope:
    return Envelope(
        message_id=uuid.UUID("9d1c2b3a-4e5f-4a6b-8c7d-0e1f2a3b4c5d"),
        request_id=REQUEST_ID,
        step_id=STEP_ID,
        type=MessageType.STEP_STATUS,
        schema_version=1,
        occurred_at=datetime(2026, 1, 14, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=7))),
        source="adapter:samsat",
        payload={
            "status": "COMPLETED",
            "outputs": {"billing_code": "820220922465628", "amount": 2_193_000, "nested": [1, None, True, 2.5]},
            "agency_status": "BERHASIL",
        },
    )


def as_dict(raw: bytes) -> dict:
    return json.loads(raw)


# --- round trip -----------------------------------------------------------


def test_round_trip_through_bytes_keeps_every_field() -> None:
    original = full_envelope()
    restored = Envelope.from_bytes(original.to_bytes())
    assert restored == original
    for field in Envelope.model_fields:
        assert getattr(restored, field) == getattr(original, field), field
    assert restored.occurred_at.utcoffset() == timedelta(hours=7)


def test_round_trip_without_step_id() -> None:
    original = Envelope(request_id=REQUEST_ID, type=MessageType.REQUEST_SUBMITTED, source="api")
    restored = Envelope.from_bytes(original.to_bytes())
    assert restored == original
    assert restored.step_id is None
    assert restored.payload == {}


def test_to_bytes_is_utf8_json_with_string_ids() -> None:
    data = as_dict(full_envelope().to_bytes())
    assert data["request_id"] == str(REQUEST_ID)
    assert data["step_id"] == str(STEP_ID)
    assert data["type"] == "step.status"
    assert set(data) == set(Envelope.model_fields)


def test_defaults_fill_id_version_and_time() -> None:
    before = datetime.now(UTC)
    a = Envelope(request_id=REQUEST_ID, type=MessageType.REQUEST_SUBMITTED, source="api")
    b = Envelope(request_id=REQUEST_ID, type=MessageType.REQUEST_SUBMITTED, source="api")
    assert a.message_id != b.message_id
    assert a.schema_version == SCHEMA_VERSION
    assert a.occurred_at.tzinfo is not None
    assert before <= a.occurred_at <= datetime.now(UTC)


def test_envelope_is_immutable() -> None:
    envelope = full_envelope()
    with pytest.raises(ValidationError):
        envelope.request_id = uuid.uuid4()  # type: ignore[misc]


# --- key --------------------------------------------------------------------


def test_key_is_the_request_id_so_a_case_stays_on_one_partition() -> None:
    envelope = full_envelope()
    assert envelope.key == str(REQUEST_ID).encode()


def test_every_message_of_a_case_has_the_same_key() -> None:
    submitted = Envelope(request_id=REQUEST_ID, type=MessageType.REQUEST_SUBMITTED, source="api")
    command = Envelope(request_id=REQUEST_ID, step_id=uuid.uuid4(), type=MessageType.STEP_COMMAND, source="router")
    report = Envelope(request_id=REQUEST_ID, step_id=command.step_id, type=MessageType.STEP_STATUS, source="adapter:x")
    other_case = Envelope(request_id=uuid.uuid4(), type=MessageType.REQUEST_SUBMITTED, source="api")
    assert submitted.key == command.key == report.key
    assert other_case.key != submitted.key


# --- refusals -------------------------------------------------------------


def error_locs(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in exc.value.errors()}


def test_unknown_field_is_refused_naming_it() -> None:
    data = as_dict(full_envelope().to_bytes())
    data["priority"] = "high"
    with pytest.raises(ValidationError) as exc:
        Envelope.from_bytes(json.dumps(data).encode())
    assert error_locs(exc) == {"priority"}
    assert exc.value.errors()[0]["type"] == "extra_forbidden"


def test_unknown_field_is_refused_in_the_constructor_too() -> None:
    with pytest.raises(ValidationError) as exc:
        Envelope(request_id=REQUEST_ID, type=MessageType.STEP_COMMAND, source="router", agency="samsat")  # type: ignore[call-arg]
    assert error_locs(exc) == {"agency"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("request_id", "not-a-uuid"),
        ("step_id", 42),
        ("type", "step.exploded"),
        ("schema_version", 0),
        ("schema_version", "one"),
        ("occurred_at", "yesterday"),
        ("source", ""),
        ("source", "x" * 101),
        ("payload", ["not", "a", "dict"]),
    ],
)
def test_bad_types_are_refused_naming_the_field(field: str, value: object) -> None:
    data = as_dict(full_envelope().to_bytes())
    data[field] = value
    with pytest.raises(ValidationError) as exc:
        Envelope.from_bytes(json.dumps(data).encode())
    assert error_locs(exc) == {field}


@pytest.mark.parametrize("field", ["request_id", "type", "source"])
def test_required_fields_are_required(field: str) -> None:
    data = as_dict(full_envelope().to_bytes())
    del data[field]
    with pytest.raises(ValidationError) as exc:
        Envelope.from_bytes(json.dumps(data).encode())
    assert error_locs(exc) == {field}
    assert exc.value.errors()[0]["type"] == "missing"


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b"\xff\xfe\x00", b"null"])
def test_undecodable_bytes_raise_validation_error_not_a_crash(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        Envelope.from_bytes(raw)


# --- traceparent ------------------------------------------------------------


def test_new_traceparent_matches_w3c_format() -> None:
    for _ in range(50):
        value = new_traceparent()
        assert TRACEPARENT.fullmatch(value), value


def test_new_traceparent_ids_are_fresh_and_not_all_zero() -> None:
    values = [new_traceparent() for _ in range(50)]
    assert len(set(values)) == len(values)
    for value in values:
        _, trace_id, parent_id, _ = value.split("-")
        assert trace_id != "0" * 32
        assert parent_id != "0" * 16
    assert len({v.split("-")[1] for v in values}) == len(values)
