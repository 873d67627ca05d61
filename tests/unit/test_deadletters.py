"""Dead letters, the pure parts: how values are shown (NIKs masked), the loop guard,
and how filters select rows."""

from __future__ import annotations

import base64
import json

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from sqlalchemy.dialects import postgresql

from hub.config import Settings
from hub.features.deadletters.archive import to_dead_letter
from hub.features.deadletters.policy import (
    REPLAY_COUNT_HEADER,
    archive_status,
    next_replay_count,
    original_headers,
    replay_count_of,
    replay_headers,
    replay_refusal,
)
from hub.features.deadletters.service import DeadLetterFilter
from hub.features.privacy.masking import mask_nik_like, show_bytes, show_key
from support.records import consumer_record

NIK = "3171015203900007"

# ---------------------------------------------------------------------------
# Masking
# ---------------------------------------------------------------------------


def test_json_values_are_shown_as_text_with_every_nik_masked() -> None:
    raw = json.dumps({"applicant": {"nik": NIK}, "other": int(NIK), "list": [NIK]}).encode()

    shown = show_bytes(raw)

    assert shown.encoding == "json"
    assert NIK not in (shown.text or "")
    assert (shown.text or "").count("3171**********07") == 3
    assert json.loads(shown.text or "")["applicant"]["nik"] == "3171**********07"


def test_numbers_that_are_not_sixteen_digits_stay_visible() -> None:
    text = '{"a": "123456789012345", "b": "12345678901234567", "amount": 1500000}'
    assert mask_nik_like(text) == text


def test_a_sixteen_digit_number_inside_text_is_masked() -> None:
    assert mask_nik_like(f"nik={NIK};") == "nik=3171**********07;"


@pytest.mark.parametrize("raw", [b"not json at all", b"\xff\xfe\x00binary", b'{"truncated": '], ids=["text", "binary", "broken-json"])
def test_anything_but_utf8_json_is_shown_as_base64(raw: bytes) -> None:
    shown = show_bytes(raw)
    assert shown.encoding == "base64"
    assert base64.b64decode(shown.text or "") == raw


def test_a_missing_value_is_shown_as_none() -> None:
    assert show_bytes(None).encoding == "none"


def test_keys_are_text_when_printable_else_base64() -> None:
    assert show_key(b"6f1c7a3e-0000-4000-8000-000000000001") == "6f1c7a3e-0000-4000-8000-000000000001"
    assert show_key(b"\x00\x01") == "base64:AAE="
    assert show_key(None) is None


# ---------------------------------------------------------------------------
# Loop guard
# ---------------------------------------------------------------------------


def test_max_replays_comes_from_settings_with_a_default_of_three() -> None:
    assert Settings().dlq.max_replays == 3
    assert Settings.model_validate({"dlq": {"max_replays": 5}}).dlq.max_replays == 5


@pytest.mark.parametrize(("incoming", "expected"), [(0, "new"), (2, "new"), (3, "quarantined"), (7, "quarantined")])
def test_a_record_that_came_back_max_times_is_quarantined(incoming: int, expected: str) -> None:
    assert archive_status(incoming, 3) == expected


def test_the_replay_count_header_is_read_and_garbage_counts_as_zero() -> None:
    assert replay_count_of([("a", "b"), (REPLAY_COUNT_HEADER, "2")]) == 2
    assert replay_count_of([(REPLAY_COUNT_HEADER, "two")]) == 0
    assert replay_count_of([(REPLAY_COUNT_HEADER, "-4")]) == 0
    assert replay_count_of([]) == 0


def test_replay_count_sent_counts_every_replay_of_the_same_record() -> None:
    assert next_replay_count(0, 0) == 1  # first replay of a fresh dead letter
    assert next_replay_count(0, 1) == 2  # the same row replayed again
    assert next_replay_count(2, 0) == 3  # it came back after two replays


def test_replay_headers_drop_dlq_bookkeeping_and_carry_the_new_count() -> None:
    headers = [("mpp-message-id", "m1"), ("dlq.error.class", "PoisonMessage"), (REPLAY_COUNT_HEADER, "1"), ("traceparent", "t")]
    assert original_headers(headers) == [("mpp-message-id", "m1"), ("traceparent", "t")]
    assert replay_headers(headers, 2) == [("mpp-message-id", "m1"), ("traceparent", "t"), (REPLAY_COUNT_HEADER, "2")]


@pytest.mark.parametrize(
    ("status", "force", "refused"),
    [
        ("new", False, False),
        ("replayed", False, False),
        ("quarantined", False, True),
        ("quarantined", True, False),
        ("resolved", False, True),
        ("resolved", True, False),
    ],
)
def test_quarantined_and_resolved_records_need_force(status: str, force: bool, refused: bool) -> None:
    reason = replay_refusal(status, force=force, original_topic="mpp.requests", has_value=True, incoming_replay_count=3)
    assert (reason is not None) is refused


def test_a_record_without_origin_or_value_is_never_replayed_even_forced() -> None:
    assert replay_refusal("new", force=True, original_topic=None, has_value=True) is not None
    assert replay_refusal("new", force=True, original_topic="mpp.requests", has_value=False) is not None


# ---------------------------------------------------------------------------
# Archive rows from dead-letter records
# ---------------------------------------------------------------------------


def _record(headers: list[tuple[str, bytes]], *, offset: int = 7, value: bytes | None = b"poison") -> ConsumerRecord[bytes, bytes]:
    return consumer_record(TopicPartition("mpp.deadletter", 1), offset, value, headers, key=b"k", timestamp=1_760_000_000_000)


DLQ_HEADERS = [
    ("mpp-correlation-id", b"corr-1"),
    ("dlq.original.topic", b"mpp.requests"),
    ("dlq.original.partition", b"2"),
    ("dlq.original.offset", b"41"),
    ("dlq.error.class", b"PoisonMessage"),
    ("dlq.error.message", b"Envelope invalid: <root>: json_invalid"),
    ("dlq.attempts", b"1"),
    ("dlq.consumer", b"router"),
]


def test_a_dead_letter_record_becomes_a_row_with_its_origin_and_reason() -> None:
    row = to_dead_letter(_record(DLQ_HEADERS), limit=3)

    assert (row.dlq_partition, row.dlq_offset) == (1, 7)
    assert (row.original_topic, row.original_partition, row.original_offset) == ("mpp.requests", 2, 41)
    assert (row.error_class, row.consumer, row.attempts) == ("PoisonMessage", "router", 1)
    assert row.error_message.startswith("Envelope invalid")
    assert row.correlation_id == "corr-1"
    assert row.headers == [["mpp-correlation-id", "corr-1"]]  # dlq.* stripped
    assert (row.status, row.incoming_replay_count, row.replay_count) == ("new", 0, 0)
    assert row.value == b"poison" and row.key == b"k"
    assert row.dead_lettered_at.year == 2025


def test_a_record_back_for_the_last_allowed_time_is_archived_quarantined() -> None:
    row = to_dead_letter(_record([*DLQ_HEADERS, (REPLAY_COUNT_HEADER, b"3")]), limit=3)
    assert (row.status, row.incoming_replay_count) == ("quarantined", 3)
    assert all(name != REPLAY_COUNT_HEADER for name, _ in row.headers)


def test_a_record_without_dlq_headers_is_still_archived_without_an_origin() -> None:
    row = to_dead_letter(_record([]), limit=3)
    assert row.original_topic is None and row.error_class == "unknown" and row.consumer == "unknown"


# ---------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------


def _sql(where: DeadLetterFilter) -> str:
    return str(where.query().compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def test_an_empty_filter_selects_everything() -> None:
    assert DeadLetterFilter().clauses() == []
    assert "WHERE" not in _sql(DeadLetterFilter())


def test_every_given_field_becomes_an_exact_match() -> None:
    sql = _sql(DeadLetterFilter(status="new", topic="mpp.requests", consumer="router", error_class="PoisonMessage"))
    assert "dead_letters.status = 'new'" in sql
    assert "dead_letters.original_topic = 'mpp.requests'" in sql
    assert "dead_letters.consumer = 'router'" in sql
    assert "dead_letters.error_class = 'PoisonMessage'" in sql


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="status must be one of"):
        DeadLetterFilter(status="lost")


def test_bulk_replay_takes_only_new_dead_letters_unless_a_status_is_given() -> None:
    assert DeadLetterFilter(topic="mpp.requests").for_bulk_replay() == DeadLetterFilter(status="new", topic="mpp.requests")
    assert DeadLetterFilter(status="quarantined").for_bulk_replay() == DeadLetterFilter(status="quarantined")
