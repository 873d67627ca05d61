"""Webhook fan-out and delivery.

Two loops, both restartable at any point without losing or reordering events:

``fan_out``
    reads history rows after the stored cursor (``notification_cursor``), and for
    each event creates one ``webhook_deliveries`` row per active subscription of the
    case's portal client; the new rows and the advanced cursor commit together. The
    cursor row is locked ``FOR UPDATE SKIP LOCKED``, so of two dispatchers one fans
    out and the other skips; ``(subscription_id, event_id)`` is unique besides.

    History ids come from a sequence and are handed out before commit, so on
    PostgreSQL id 11 can become visible while id 10 is still being written. Jumping
    the cursor to 11 would lose 10 for good. Fan-out therefore stops at a hole in the
    ids and only steps over it once it has stayed a hole for ``gap_grace_seconds``
    (the id then belonged to a rolled-back transaction).

``deliver_due``
    sends the pending, due deliveries, at most one per subscription and always that
    subscription's oldest pending event, so event N+1 is never sent before N was
    delivered or finally failed. Rows are locked ``FOR UPDATE SKIP LOCKED`` for the
    length of the send, so two dispatchers never send the same delivery at once (nor
    overtake each other on one subscription). 2xx is delivered; anything else
    (status, timeout, connection error) retries with exponential backoff
    (``base * 2**(attempts-1)``, capped) until ``max_attempts``, then failed. A
    target that now resolves to a non-public address is refused and failed at once.

A crash mid-send rolls the attempt back: the delivery is sent again later with the
same event id and body (at-least-once; portals dedupe on ``X-MPP-Event-Id``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from hub.config import WebhookSettings
from hub.db.models import Case, HistoryRecord, utcnow
from hub.features.notifications.events import build_events
from hub.features.notifications.models import WEBHOOK_CURSOR, DeliveryStatus, NotificationCursor, WebhookDelivery, WebhookSubscription
from hub.features.notifications.signing import DELIVERY_ID_HEADER, EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, sign
from hub.features.notifications.urls import Resolver, UrlRejected, check_webhook_url, pinned, resolve
from hub.runtime.periodic import pause
from messaging.retry import RetryPolicy

log = logging.getLogger(__name__)

USER_AGENT = "mpp-hub-webhooks/1"


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None = None
    error: str | None = None
    final: bool = False  # refused: do not retry

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookDispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: WebhookSettings,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = utcnow,
        *,
        batch_size: int = 200,
        gap_grace_seconds: float = 10.0,
        concurrency: int = 16,
        resolver: Resolver = resolve,
        cursor_name: str = WEBHOOK_CURSOR,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._allow_private = settings.allow_private_targets
        self._https_only = bool(settings.https_only)
        self._timeout = settings.timeout_seconds
        self._max_attempts = settings.max_attempts
        self._backoff = RetryPolicy(
            attempts=settings.max_attempts, base_seconds=settings.backoff_base_seconds, cap_seconds=settings.backoff_cap_seconds
        )
        self._poll_seconds = settings.poll_seconds
        self._batch_size = batch_size
        self._gap_grace = gap_grace_seconds
        self._concurrency = concurrency
        self._resolver = resolver
        self._cursor_name = cursor_name
        self._gaps: dict[int, datetime] = {}  # first missing id -> when first seen
        self._backlog = False  # the last fan-out read a full batch: more history is waiting
        self._owns_client = http_client is None
        self._client = http_client or httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: we connect to the address we checked
            # One connection per delivery: a pooled connection is keyed by address and could
            # carry another host name's request over a TLS session verified for the first.
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"User-Agent": USER_AGENT},
        )

    # ------------------------------------------------------------------ fan-out

    async def fan_out(self) -> int:
        """Turn new history rows into deliveries; returns how many deliveries were created."""
        now = self._clock()
        self._backlog = False
        async with self._sessions.begin() as session:
            cursor = await self._lock_cursor(session)
            if cursor is None:
                return 0  # another dispatcher is fanning out right now
            rows = (
                await session.scalars(
                    select(HistoryRecord)
                    .where(HistoryRecord.id > cursor.last_history_id)
                    .order_by(HistoryRecord.id)
                    .limit(self._batch_size)
                )
            ).all()
            accepted, last = self._contiguous(cursor.last_history_id, rows, now)
            self._backlog = len(rows) >= self._batch_size and last > cursor.last_history_id
            if last == cursor.last_history_id:
                return 0
            subscriptions: dict[str, list[WebhookSubscription]] = defaultdict(list)
            for sub in await session.scalars(
                select(WebhookSubscription).where(WebhookSubscription.deleted_at.is_(None)).order_by(WebhookSubscription.created_at)
            ):
                subscriptions[sub.client_id].append(sub)
            events = []
            if subscriptions and accepted:
                # Only rows of cases whose client has a subscription are worth building events for.
                owners = {
                    case_id: client_id
                    for case_id, client_id in await session.execute(
                        select(Case.id, Case.client_id).where(Case.id.in_({r.case_id for r in accepted}))
                    )
                }
                wanted = [
                    r for r in accepted if any(r.id > s.start_after_event_id for s in subscriptions.get(owners.get(r.case_id, ""), ()))
                ]
                events = await build_events(session, wanted)
            created = 0
            for event in events:
                for sub in subscriptions.get(event.client_id, ()):
                    if event.id <= sub.start_after_event_id:
                        continue
                    session.add(
                        WebhookDelivery(
                            subscription_id=sub.id,
                            event_id=event.id,
                            case_id=event.case_id,
                            event_type=event.type,
                            body=event.json(),
                            status=DeliveryStatus.PENDING,
                            attempts=0,
                            next_attempt_at=now,
                        )
                    )
                    created += 1
            cursor.last_history_id = last
        if created:
            log.debug("webhooks: %d deliveries for history up to %d", created, last)
        return created

    async def _lock_cursor(self, session: AsyncSession) -> NotificationCursor | None:
        query = select(NotificationCursor).where(NotificationCursor.name == self._cursor_name)
        cursor = (await session.scalars(query.with_for_update(skip_locked=True))).one_or_none()
        if cursor is not None:
            return cursor
        if (await session.scalars(query)).one_or_none() is not None:
            return None  # exists, locked by another dispatcher
        cursor = NotificationCursor(name=self._cursor_name, last_history_id=0)
        session.add(cursor)
        await session.flush()  # a concurrent creator makes this fail; the loop retries
        return cursor

    def _contiguous(self, start: int, rows: Any, now: datetime) -> tuple[list[HistoryRecord], int]:
        """The rows up to the first hole in the ids that is younger than the grace period."""
        expected = start + 1
        accepted: list[HistoryRecord] = []
        for row in rows:
            if row.id > expected:
                first_seen = self._gaps.setdefault(expected, now)
                if (now - first_seen).total_seconds() < self._gap_grace:
                    break
                log.warning(
                    "webhooks: history ids %d..%d never appeared in %.0fs (rolled back); moving past them",
                    expected,
                    row.id - 1,
                    self._gap_grace,
                )
            accepted.append(row)
            expected = row.id + 1
        self._gaps = {k: v for k, v in self._gaps.items() if k >= expected}
        return accepted, expected - 1

    # ----------------------------------------------------------------- delivery

    async def deliver_due(self) -> int:
        """Send due deliveries (one per subscription, oldest first); returns how many were attempted."""
        await self._fail_deleted()
        now = self._clock()
        earlier = aliased(WebhookDelivery)
        blocked = (
            exists()
            .where(
                earlier.subscription_id == WebhookDelivery.subscription_id,
                earlier.status == DeliveryStatus.PENDING,
                earlier.event_id < WebhookDelivery.event_id,
            )
            .correlate(WebhookDelivery)
        )
        async with self._sessions.begin() as session:
            deliveries = (
                await session.scalars(
                    select(WebhookDelivery)
                    .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now, ~blocked)
                    .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.event_id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True, of=WebhookDelivery)
                )
            ).all()
            if not deliveries:
                return 0
            subs = {
                s.id: s
                for s in await session.scalars(
                    select(WebhookSubscription).where(WebhookSubscription.id.in_({d.subscription_id for d in deliveries}))
                )
            }
            gate = asyncio.Semaphore(self._concurrency)

            async def attempt(delivery: WebhookDelivery) -> _Outcome:
                sub = subs[delivery.subscription_id]
                if sub.deleted_at is not None:
                    return _Outcome(error="subscription deleted", final=True)
                async with gate:
                    return await self._send(delivery, sub)

            outcomes = await asyncio.gather(*(attempt(d) for d in deliveries))
            for delivery, outcome in zip(deliveries, outcomes, strict=True):
                self._record(delivery, outcome)
        return len(deliveries)

    async def _fail_deleted(self) -> None:
        """Pending deliveries of deleted subscriptions are failed (never sent)."""
        async with self._sessions.begin() as session:
            ids = (
                select(WebhookDelivery.id)
                .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
                .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookSubscription.deleted_at.is_not(None))
                .limit(1000)
                .with_for_update(skip_locked=True, of=WebhookDelivery)
            )
            stale = (await session.scalars(ids)).all()
            if stale:
                await session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id.in_(stale))
                    .values(status=DeliveryStatus.FAILED, last_error="subscription deleted", next_attempt_at=None, updated_at=self._clock())
                )

    async def _send(self, delivery: WebhookDelivery, sub: WebhookSubscription) -> _Outcome:
        try:
            checked = await check_webhook_url(
                sub.url, allow_private=self._allow_private, https_only=self._https_only, resolver=self._resolver
            )
        except UrlRejected as exc:
            transient = all(p.code == "url_host_unresolvable" for p in exc.problems)
            return _Outcome(error=str(exc) if transient else f"refused: {exc}", final=not transient)
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(sub.secret, body, int(self._clock().timestamp())),
            EVENT_ID_HEADER: str(delivery.event_id),
            DELIVERY_ID_HEADER: str(delivery.id),
            EVENT_TYPE_HEADER: delivery.event_type,
        }
        connect_errors: list[str] = []
        for address in checked.addresses:
            request = pinned(checked, address)
            try:
                async with asyncio.timeout(self._timeout):
                    async with self._client.stream(
                        "POST",
                        request.url,
                        content=body,
                        headers={**headers, **request.headers},
                        extensions=request.extensions,
                        timeout=self._timeout,
                        follow_redirects=False,
                    ) as response:
                        status = response.status_code  # the body is never read: its size is the receiver's business
            except httpx.ConnectError as exc:
                connect_errors.append(f"{address}: {exc or type(exc).__name__}")
                continue  # try the host's next address
            except (TimeoutError, httpx.TimeoutException):
                return _Outcome(error=f"timed out after {self._timeout:g}s")
            except httpx.HTTPError as exc:
                return _Outcome(error=f"{type(exc).__name__}: {exc}"[:500])
            if 200 <= status < 300:
                return _Outcome(status_code=status)
            return _Outcome(status_code=status, error=f"HTTP {status} {response.reason_phrase}".strip()[:500])
        return _Outcome(error=("could not connect: " + "; ".join(connect_errors))[:500])

    def _record(self, delivery: WebhookDelivery, outcome: _Outcome) -> None:
        now = self._clock()
        delivery.attempts += 1
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        delivery.updated_at = now
        if outcome.ok:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        elif outcome.final or delivery.attempts >= self._max_attempts:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
            log.warning(
                "webhook delivery %s (event %d) failed after %d attempts: %s",
                delivery.id,
                delivery.event_id,
                delivery.attempts,
                outcome.error,
            )
        else:
            delivery.next_attempt_at = now + timedelta(seconds=self.backoff(delivery.attempts))

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failed ones: base, 2*base, 4*base ... capped."""
        return self._backoff.delay(max(1, attempts))

    # --------------------------------------------------------------------- loop

    async def run(self, stop: asyncio.Event) -> None:
        """Fan out and deliver until ``stop`` is set (each loop survives DB/network errors)."""
        try:
            await asyncio.gather(
                # Fan-out goes straight on while it reads full batches of history; delivery
                # while anything was due (each round sends one event per subscription).
                self._loop("fan-out", self.fan_out, stop, lambda done: self._backlog),
                self._loop("delivery", self.deliver_due, stop, lambda done: done > 0),
            )
        finally:
            await self.aclose()

    async def _loop(self, name: str, work: Callable[[], Awaitable[int]], stop: asyncio.Event, busy: Callable[[int], bool]) -> None:
        failures = 0
        while not stop.is_set():
            try:
                done = await work()
            except Exception:
                failures += 1
                delay = min(30.0, self._poll_seconds * 2**failures)
                log.exception("webhooks %s failed, retrying in %.1fs", name, delay)
                await pause(stop, delay)
                continue
            failures = 0
            if not busy(done):
                await pause(stop, self._poll_seconds)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> WebhookDispatcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
