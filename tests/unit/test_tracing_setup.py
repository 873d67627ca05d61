"""Tracing is off unless the standard OTEL_* environment asks for it, and the trace a
record carries is what the work it causes carries on."""

from __future__ import annotations

import pytest
from aiokafka import ConsumerRecord

from hub.observability.tracing import exporter_from_env, wanted
from messaging.tracing import current_traceparent, enabled, log_ids, processing, trace_id_of
from schemas.envelope import Headers

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_tracing_is_on_only_when_the_environment_asks(environ: dict[str, str], on: bool) -> None:
    assert wanted(environ) is on


def test_otlp_exports_over_http_and_unknown_exporters_are_named() -> None:
    assert type(exporter_from_env({"OTEL_TRACES_EXPORTER": "otlp"})).__module__.startswith("opentelemetry.exporter.otlp.proto.http")
    with pytest.raises(ValueError, match="grpc"):
        exporter_from_env({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    with pytest.raises(ValueError, match="zipkin"):
        exporter_from_env({"OTEL_TRACES_EXPORTER": "zipkin"})


def test_with_tracing_off_a_message_carries_the_incoming_trace_or_a_new_one() -> None:
    assert not enabled()
    assert current_traceparent(PARENT) == PARENT
    fresh = current_traceparent()
    assert fresh != PARENT and trace_id_of(fresh) is not None


def test_trace_id_of_reads_only_real_traceparents() -> None:
    assert trace_id_of(PARENT) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert trace_id_of("00-" + "0" * 32 + "-00f067aa0ba902b7-01") is None
    assert trace_id_of("garbage") is None and trace_id_of(None) is None


def test_processing_a_record_puts_its_case_and_trace_in_the_log_context_for_its_duration() -> None:
    case = "7212ccd5-07fd-46fb-9d09-82a8a94ba11a"
    record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
        topic="mpp.requests",
        partition=0,
        offset=5,
        timestamp=0,
        timestamp_type=0,
        key=case.encode(),
        value=b"{}",
        checksum=None,
        serialized_key_size=36,
        serialized_value_size=2,
        headers=[(Headers.CORRELATION_ID, b"corr-1"), (Headers.TRACEPARENT, PARENT.encode())],
    )
    with processing(record, "mpp-router"):
        assert log_ids() == {"case_id": case, "correlation_id": "corr-1", "trace_id": PARENT[3:35], "span_id": PARENT[36:52]}
        assert current_traceparent(PARENT) == PARENT  # tracing off: the incoming trace goes on as it came
    assert log_ids() == {"case_id": None, "correlation_id": None, "trace_id": None, "span_id": None}
