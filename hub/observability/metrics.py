"""The hub's own metrics: cases, steps, SLA breaches, webhooks and API requests.

Case and step counts are taken from what the database commits, not from what code
meant to do: a listener sees each flush's new cases and status changes and counts them
only once the transaction commits (a rolled-back transition never counts). So every
place that moves a case (router, API, poller, SLA scanner) is counted without knowing.

Label values are bounded: services and agencies come from the catalogue, statuses from
the lifecycle, routes are templates. Never a case id, a NIK or free text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from hub.db.models import Case, Step
from hub.features.notifications.models import DeliveryStatus, WebhookDelivery
from schemas.lifecycle import Status

#: Seconds: a step may take a fraction of a second against a simulator, days against an agency.
STEP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600)
API_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

CASES_SUBMITTED = Counter("mpp_cases_submitted", "Cases accepted from portals, by service.", ["service"])
CASES_FINISHED = Counter(
    "mpp_cases_finished",
    "Cases that reached a terminal status (completed, rejected, failed, cancelled, expired), by service.",
    ["service", "status"],
)
STEP_DURATION = Histogram(
    "mpp_step_duration_seconds",
    "phase=total: a step from its creation to its terminal status; phase=agency_round_trip: "
    "from the command sent (ROUTED) to the agency's first report.",
    ["agency", "service", "phase"],
    buckets=STEP_BUCKETS,
)
STEPS_IN_FLIGHT = Gauge("mpp_steps_in_flight", "Steps not yet terminal, by agency and status.", ["agency", "status"])
OUTBOX_UNSENT = Gauge("mpp_outbox_unsent_messages", "Outbox rows the relay has not published yet.")
OUTBOX_OLDEST_AGE = Gauge("mpp_outbox_oldest_unsent_age_seconds", "Age of the oldest unsent outbox row (0 when none).")
CONSUMER_LAG = Gauge(
    "mpp_consumer_lag_messages",
    "End offset minus committed offset, per consumer group and partition (computed by the hub).",
    ["messaging_system", "messaging_consumer_group_name", "messaging_destination_name", "messaging_destination_partition_id"],
)
RETRY_DEPTH = Gauge("mpp_retry_topic_depth_messages", "Records waiting on an agency's retry level (its group's lag).", ["agency", "level"])
SLA_BREACHES = Counter("mpp_sla_breaches", "Steps that passed their SLA deadline, by agency and service.", ["agency", "service"])
WEBHOOK_FAILED = Counter("mpp_webhook_deliveries_failed", "Webhook deliveries given up after their last attempt.")
WEBHOOK_DELIVERIES = Gauge("mpp_webhook_deliveries", "Webhook deliveries by status (pending, failed).", ["status"])
API_REQUESTS = Counter("mpp_api_requests", "API requests by route template, method and status code.", ["route", "method", "status"])
API_DURATION = Histogram("mpp_api_request_duration_seconds", "API request handling time.", ["route", "method"], buckets=API_BUCKETS)

_PENDING = "mpp_metrics_pending"
Emit = Callable[[], None]


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    pending: list[Emit] = session.info.setdefault(_PENDING, [])
    now = datetime.now(UTC)
    for obj in session.new:
        if isinstance(obj, Case):
            pending.append(CASES_SUBMITTED.labels(obj.service).inc)  # a bound method: label values read now
            pending.extend(_case_moved(obj, None))
    for obj in session.dirty:
        if isinstance(obj, Case) and _changed(obj, "status"):
            pending.extend(_case_moved(obj, _old(obj, "status")))
        elif isinstance(obj, Step):
            pending.extend(_step_moved(obj, now))
        elif isinstance(obj, WebhookDelivery) and obj.status == DeliveryStatus.FAILED and _changed(obj, "status"):
            pending.append(WEBHOOK_FAILED.inc)


def _case_moved(case: Case, old: Any) -> list[Emit]:
    if old == case.status or not Status(case.status).is_terminal:
        return []
    return [CASES_FINISHED.labels(case.service, case.status.lower()).inc]


def _step_moved(step: Step, now: datetime) -> list[Emit]:
    """Label values are read now: after the commit the row's attributes are expired."""
    found: list[Emit] = []
    agency, service = step.agency, step.service
    if _changed(step, "sla_breached_at") and _old(step, "sla_breached_at") is None and step.sla_breached_at is not None:
        found.append(SLA_BREACHES.labels(agency, service).inc)
    old = _old(step, "status")
    if old is None or old == step.status:
        return found
    if Status(step.status).is_terminal and step.created_at is not None:
        found.append(_observe(STEP_DURATION.labels(agency, service, "total"), now - aware(step.created_at)))
    routed_at = _old(step, "updated_at")
    if old == Status.ROUTED.value and isinstance(routed_at, datetime):
        found.append(_observe(STEP_DURATION.labels(agency, service, "agency_round_trip"), now - aware(routed_at)))
    return found


def _observe(histogram: Histogram, elapsed: timedelta) -> Emit:
    seconds = max(0.0, elapsed.total_seconds())
    return lambda: histogram.observe(seconds)


def _changed(obj: object, attribute: str) -> bool:
    return bool(inspect(obj).attrs[attribute].history.has_changes())


def _old(obj: object, attribute: str) -> Any:
    """The value loaded from the database before this flush (``None`` if not loaded)."""
    deleted = inspect(obj).attrs[attribute].history.deleted
    return deleted[0] if deleted else None


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def _after_commit(session: Session) -> None:
    for emit in session.info.pop(_PENDING, []):
        emit()


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def install() -> None:
    """Count what every session of this process commits (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


install()
