"""Non-blocking retry topics: the middle rung of the adapter's failure ladder.

The ladder, per command (``adapters/sdk/runtime/worker.py``):

1. **Short in-process retries** (tenacity) for transient errors, bounded so a handler
   never nears the consumer's ``max.poll.interval``: at most
   ``attempts × (timeout + backoff cap)`` (:meth:`RetryPolicy.worst_case_seconds
   <messaging.retry.RetryPolicy.worst_case_seconds>`; 4 × (10 + 2) = 48 s with the
   defaults, against 300 s). The worker refuses settings whose bound exceeds half the
   poll interval (:func:`check_short_retry_bound`).
2. **Retry topics** ``mpp.retry.<agency>.<n>``, n = 1..levels, with growing delays
   (default 5 s, 30 s, 120 s). The worker publishes the command record, value
   untouched, to the next level with headers ``mpp-retry-attempt`` (= n),
   ``mpp-retry-not-before`` (unix ms) and the original topic/partition/offset, then
   returns, so the original offset is committed and the next record of that
   partition goes on. Each level is consumed by the one consume loop
   (:class:`~messaging.consume.ConsumeLoop`, own consumer group
   ``mpp-adapter-<agency>-retry-<n>``, same worker process) told by :func:`due_at`
   when a record is due: a record not yet due *parks its partition* until then (the
   loop keeps polling, so heartbeats and rebalances go on, and the level's other
   partitions proceed). Then the command goes to the worker again: same step id, so the
   same idempotency key at the agency; same message id, so the same deterministic
   report id, which the router drops if it has seen it.
3. **Dead letters** after the last level: ``mpp.deadletter`` with the ``dlq.*``
   headers naming the *original* command topic/partition/offset, the error class and
   message, the number of passes and ``dlq.consumer = adapter:<agency>``; the
   correlation id travels in ``mpp-correlation-id``. No report is published: the case
   stays in its current state, visible in the API and to the SLA scanner, until an
   operator replays the dead letter. Poison (undecodable, schema-invalid) never climbs
   the ladder: it goes to dead letters at once.

The circuit breaker sits across all of it: while it is OPEN, the loop's gate pauses
every partition of the command topic and of every retry level, and nothing is
forwarded (no retry budget is burned by an outage the breaker already knows about); a
half-open probe closes it again.

Ordering. Keys are request ids, so a case's messages share a partition and arrive in
order -- but a retried command leaves its partition. A later message about the same
step (a ``step.cancel``, a callback, a poll) can overtake it. That is safe because
the adapter has no state of its own and the router validates every transition
(``schemas/lifecycle.py``): a report arriving after the step reached a terminal state
(e.g. COMPLETED after CANCELLED) is refused and recorded in the step's history, not
applied, so a late retry can never move a case backwards. What it cannot undo is the
agency having carried out a command that was cancelled meanwhile; that shows up as a
refused transition in the history for an operator to follow up. The agency sees each
step id at most once as an application (idempotency key), however many times the
ladder delivers it: a crash between forwarding and committing only duplicates the
retry record, never the effect.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import ConsumerRecord

from messaging.headers import KafkaHeaders, header
from messaging.retry import RetryPolicy

RETRY_PREFIX = "mpp.retry."

H_ATTEMPT = "mpp-retry-attempt"
H_NOT_BEFORE = "mpp-retry-not-before"
H_ORIGINAL_TOPIC = "mpp-retry-original-topic"
H_ORIGINAL_PARTITION = "mpp-retry-original-partition"
H_ORIGINAL_OFFSET = "mpp-retry-original-offset"
H_ERROR_CLASS = "mpp-retry-error-class"
RETRY_HEADERS = frozenset({H_ATTEMPT, H_NOT_BEFORE, H_ORIGINAL_TOPIC, H_ORIGINAL_PARTITION, H_ORIGINAL_OFFSET, H_ERROR_CLASS})


def retry_topic(agency: str, level: int) -> str:
    if level < 1:
        raise ValueError("retry levels start at 1")
    return f"{RETRY_PREFIX}{agency}.{level}"


def retry_topics(agency: str, levels: int) -> list[str]:
    return [retry_topic(agency, n) for n in range(1, levels + 1)]


def adapter_group(agency: str) -> str:
    """The consumer group of an agency's command topic, shared by its workers."""
    return f"mpp-adapter-{agency}"


def retry_group(agency: str, level: int) -> str:
    """Each level has a consumer group of its own, so one level's wait never holds another."""
    return f"mpp-adapter-{agency}-retry-{level}"


def retry_delays(delays: Sequence[float]) -> tuple[float, ...]:
    """The delay of each retry level, checked (``()`` = no retry topics)."""
    result = tuple(float(d) for d in delays)
    if any(d <= 0 for d in result):
        raise ValueError("retry topic delays must be positive")
    return result


def check_short_retry_bound(policy: RetryPolicy, per_try_seconds: float, max_poll_interval_seconds: float) -> float:
    """The worst case of one handler's short retries, refused when it could near
    ``max.poll.interval`` (the consumer would leave its group mid-handler)."""
    bound = policy.worst_case_seconds(per_try_seconds)
    if bound > max_poll_interval_seconds / 2:
        raise ValueError(
            f"short retries may take {bound:.0f}s (retry_attempts × (timeout_seconds + retry_max_wait_seconds)), "
            f"more than half of max.poll.interval ({max_poll_interval_seconds:.0f}s): lower them and rely on retry topics"
        )
    return bound


@dataclass(frozen=True)
class Escalation:
    """Where a command goes after its short retries failed at ``level`` (0 = the command topic)."""

    next_level: int | None  # None = dead letters
    delay_seconds: float = 0.0

    @property
    def dead_letter(self) -> bool:
        return self.next_level is None


def escalation(level: int, delays: Sequence[float]) -> Escalation:
    if level < 0:
        raise ValueError("level must be >= 0")
    if level < len(delays):
        return Escalation(level + 1, delays[level])
    return Escalation(None)


def original_coordinates(record: ConsumerRecord[bytes, bytes]) -> tuple[str, int, int]:
    """Where the command first arrived: from the retry headers, else the record itself."""
    topic = header(record, H_ORIGINAL_TOPIC)
    partition = header(record, H_ORIGINAL_PARTITION)
    offset = header(record, H_ORIGINAL_OFFSET)
    if topic is not None and partition is not None and offset is not None:
        try:
            return topic, int(partition), int(offset)
        except ValueError:
            pass
    return record.topic, record.partition, record.offset


def without_retry_headers(headers: Sequence[tuple[str, bytes]] | None) -> KafkaHeaders:
    return [(k, v) for k, v in headers or () if k not in RETRY_HEADERS]


def retry_headers(record: ConsumerRecord[bytes, bytes], *, attempt: int, not_before_ms: int, error: BaseException) -> KafkaHeaders:
    """The record's own headers (correlation id, traceparent, ...) plus the retry ones.
    Only the error's class travels: its message may come from the agency."""
    topic, partition, offset = original_coordinates(record)
    return [
        *without_retry_headers(record.headers),
        (H_ATTEMPT, str(attempt).encode()),
        (H_NOT_BEFORE, str(not_before_ms).encode()),
        (H_ORIGINAL_TOPIC, topic.encode()),
        (H_ORIGINAL_PARTITION, str(partition).encode()),
        (H_ORIGINAL_OFFSET, str(offset).encode()),
        (H_ERROR_CLASS, type(error).__name__.encode()),
    ]


def not_before_ms(record: ConsumerRecord[bytes, bytes]) -> int:
    """0 (due now) when missing or unreadable: a broken header must not park a command forever."""
    raw = header(record, H_NOT_BEFORE)
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return 0


def due_at(record: ConsumerRecord[bytes, bytes]) -> float:
    """When ``record`` may be handled, in unix seconds: the consume loop's ``not_before``."""
    return not_before_ms(record) / 1000


def wall_ms() -> int:
    return int(time.time() * 1000)
