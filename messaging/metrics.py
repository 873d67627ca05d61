"""Bus metrics, named as the OpenTelemetry messaging semantic conventions say, in
Prometheus form: ``messaging.client.sent.messages`` becomes
``messaging_client_sent_messages_total``, the attribute ``messaging.destination.name``
the label ``messaging_destination_name``. ``error_type`` is empty when the operation
succeeded and the exception's class name when it failed (a bounded set: our classes).

Every consumer is the one :class:`~messaging.consume.ConsumeLoop` and every producer
comes from :func:`~messaging.clients.create_producer`, so instrumenting those two
covers every process. Labels are topics, groups, agencies and class names only.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from messaging.status import BreakerState

SYSTEM = "kafka"
#: Seconds; from a fast in-process handler up to an agency call that waits out its timeout.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_DESTINATION = ("messaging_system", "messaging_destination_name")
_CONSUMER = (*_DESTINATION, "messaging_consumer_group_name")

SENT = Counter(
    "messaging_client_sent_messages", "Messages the producer sent (acknowledged or failed: error_type).", [*_DESTINATION, "error_type"]
)
SEND_DURATION = Histogram(
    "messaging_client_operation_duration_seconds",
    "From send to the broker's acknowledgement.",
    [*_DESTINATION, "messaging_operation_name", "error_type"],
    buckets=DURATION_BUCKETS,
)
CONSUMED = Counter("messaging_client_consumed_messages", "Records handed to a consume loop's handler.", _CONSUMER)
PROCESS_DURATION = Histogram(
    "messaging_process_duration_seconds",
    "Decoding and handling one record; error_type names the failure (PoisonMessage = dead-lettered).",
    [*_CONSUMER, "error_type"],
    buckets=DURATION_BUCKETS,
)
DEAD_LETTERS = Counter(
    "mpp_dead_letters",
    "Records published to mpp.deadletter, by the topic they came from and the error class.",
    ["messaging_destination_name", "error_type"],
)
BREAKER_STATE = Gauge(
    "mpp_adapter_breaker_state",
    "1 for the state each agency's circuit breaker is in (closed, half_open, open), 0 for the others.",
    ["agency", "state"],
)


def consumed(topic: str, group: str, seconds: float, error: BaseException | None) -> None:
    labels = (SYSTEM, topic, group)
    CONSUMED.labels(*labels).inc()
    PROCESS_DURATION.labels(*labels, error_type(error)).observe(seconds)


def track_send(topic: str, delivery: asyncio.Future[Any]) -> None:
    """Counts the send when the broker answers (acknowledged or not)."""
    started = time.perf_counter()

    def done(future: asyncio.Future[Any]) -> None:
        error = None if future.cancelled() else future.exception()
        kind = "CancelledError" if future.cancelled() else error_type(error)
        SENT.labels(SYSTEM, topic, kind).inc()
        SEND_DURATION.labels(SYSTEM, topic, "send", kind).observe(time.perf_counter() - started)

    delivery.add_done_callback(done)


def dead_lettered(topic: str, error: BaseException) -> None:
    DEAD_LETTERS.labels(topic, error_type(error)).inc()


def breaker(agency: str, state: BreakerState) -> None:
    for each in BreakerState:
        BREAKER_STATE.labels(agency, each.value).set(1 if each is state else 0)


def error_type(error: BaseException | None) -> str:
    return "" if error is None else type(error).__name__
