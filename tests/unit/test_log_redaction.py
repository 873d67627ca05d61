"""Log lines: JSON with the ids of the work that wrote them, and redacted whatever
the code that logged them did."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from hub.observability.logs import JsonFormatter, RedactingFilter, redact
from messaging import tracing


@pytest.mark.parametrize(
    ("text", "hidden", "kept"),
    [
        ("applicant 1375015203900007 refused", "1375015203900007", "1375**********07"),
        ("nik=3171015203900007;", "3171015203900007", "3171**********07"),
        ("card 12345678901234567890 here", "12345678901234567890", "1234"),
        ("Authorization: Bearer s3cr3t-portal-key.abc", "s3cr3t-portal-key.abc", "Bearer ***"),
        ("postgresql+asyncpg://mpphub:hunter2@db:5432/mpphub", "hunter2", "mpphub:***@db"),
        ("X-Signature: t=1700000000,v1=9f86d081884c7d659a2feaa0c55ad015", "9f86d081884c7d659a2feaa0c55ad015", "v1=***"),
        ("client_secret=abcDEF123 and password: 'pa55w0rd'", "abcDEF123", "client_secret=***"),
        ('{"api_key": "k-123456"}', "k-123456", '"api_key": "***"'),
    ],
)
def test_redaction_masks_nik_like_runs_and_secret_shapes(text: str, hidden: str, kept: str) -> None:
    redacted = redact(text)
    assert hidden not in redacted and kept in redacted


def test_redaction_leaves_ids_and_ordinary_numbers_alone() -> None:
    text = "case 7212ccd5-07fd-46fb-9d09-82a8a94ba11a step 3 of 12, offset 123456789012345"
    assert redact(text) == text


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter("router"))
    logger = logging.getLogger("test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_a_json_line_has_every_field_and_the_ids_of_the_current_work(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    tokens = [
        tracing.case_id.set("7212ccd5-07fd-46fb-9d09-82a8a94ba11a"),
        tracing.correlation_id.set("corr-1"),
    ]
    parent = tracing._traceparent.set("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    try:
        logger.info("routed step %s for %s", 3, "1375015203900007")
    finally:
        tracing._traceparent.reset(parent)
        tracing.correlation_id.reset(tokens[1])
        tracing.case_id.reset(tokens[0])

    entry = json.loads(stream.getvalue())
    assert entry["level"] == "INFO" and entry["process"] == "router" and entry["logger"] == "test.logs"
    assert entry["message"] == "routed step 3 for 1375**********07"
    assert entry["time"].endswith("Z")
    assert (entry["case_id"], entry["correlation_id"]) == ("7212ccd5-07fd-46fb-9d09-82a8a94ba11a", "corr-1")
    assert (entry["trace_id"], entry["span_id"]) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")


def test_a_traceback_is_redacted_too(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        raise ValueError("duplicate key (nik)=(1375015203900007) for token=abc.def")
    except ValueError:
        logger.exception("insert failed")

    entry = json.loads(stream.getvalue())
    assert "1375015203900007" not in stream.getvalue() and "abc.def" not in stream.getvalue()
    assert "ValueError" in entry["exception"] and "1375**********07" in entry["exception"]
    assert entry["case_id"] is None and entry["trace_id"] is None
