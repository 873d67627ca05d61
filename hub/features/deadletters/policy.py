"""The loop guard: pure decisions, so they can be tested without a broker.

A replay republishes the original record with ``dlq.replay.count`` = how many times
that record has now been replayed. If it dead-letters again, the consumer's dead
letter keeps the header (``DeadLetters`` copies the record's headers), and the
archiver stores it as ``quarantined`` once that count reached the limit. A
quarantined (or resolved) record is replayed only when the operator forces it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hub.features.deadletters.models import STATUS_NEW, STATUS_QUARANTINED, STATUS_RESOLVED

REPLAY_COUNT_HEADER = "dlq.replay.count"
DLQ_PREFIX = "dlq."


def replay_count_of(headers: Iterable[tuple[str, str]]) -> int:
    """The ``dlq.replay.count`` a record carried (0 without one, or if it is garbage)."""
    for name, value in headers:
        if name == REPLAY_COUNT_HEADER:
            try:
                return max(0, int(value))
            except ValueError:
                return 0
    return 0


def original_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The record's own headers: everything but the dead-letter bookkeeping (dlq.*)."""
    return [(name, value) for name, value in headers if not name.startswith(DLQ_PREFIX)]


def archive_status(incoming_replay_count: int, limit: int) -> str:
    """``quarantined`` when the record already came back ``limit`` times, else ``new``."""
    return STATUS_QUARANTINED if incoming_replay_count >= limit else STATUS_NEW


def next_replay_count(incoming_replay_count: int, replays_of_row: int) -> int:
    """The header value of the next replay: every replay of this record so far, plus this one."""
    return incoming_replay_count + replays_of_row + 1


def replay_headers(headers: Sequence[tuple[str, str]], count: int) -> list[tuple[str, str]]:
    return [*original_headers(headers), (REPLAY_COUNT_HEADER, str(count))]


def replay_refusal(status: str, *, force: bool, original_topic: str | None, has_value: bool, incoming_replay_count: int = 0) -> str | None:
    """Why a replay must not happen, or None when it may."""
    if not original_topic:
        return "the original topic is unknown (the record carried no dlq.original.topic)"
    if not has_value:
        return "the record has no value to replay"
    if status == STATUS_QUARANTINED and not force:
        return f"quarantined after {incoming_replay_count} replays; replay with force to send it again"
    if status == STATUS_RESOLVED and not force:
        return "resolved by an operator; replay with force to send it again"
    return None
