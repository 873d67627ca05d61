"""A circuit breaker per agency backend, and the status it reports.

When an agency is down, hammering it burns every message's retry budget and turns
an outage into a pile of failed cases. Open, the breaker makes the worker pause
consumption (its command topic and its retry topics alike) instead; after
``reset_seconds`` one probe goes through, and its outcome closes the circuit or
opens it again.

The breaker is in-process state, so operators see it only if the worker publishes
it: :meth:`CircuitBreaker.snapshot` is what goes to the compacted topic
``mpp.adapter-status`` (the message, :class:`~messaging.status.AdapterStatus`, is
shared with the hub, which reads it), on every change and as a heartbeat. The
snapshot carries the error *class* of the last failure only, never its message (an
agency's message may echo a NIK or a plate).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from messaging.status import AdapterStatus, BreakerState, status_key

__all__ = ["AdapterStatus", "BreakerState", "CircuitBreaker", "status_key"]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False)  # one breaker per backend: identity, not equal state, makes it the same
class CircuitBreaker:
    failure_threshold: int
    reset_seconds: float
    clock: Callable[[], float] = field(default=time.monotonic, kw_only=True)
    wall_clock: Callable[[], datetime] = field(default=_now, kw_only=True)
    _failures: int = field(default=0, init=False)
    _opened_at: float | None = field(default=None, init=False)
    _opened_at_wall: datetime | None = field(default=None, init=False)
    _probing: bool = field(default=False, init=False)
    _last_error: str | None = field(default=None, init=False)
    _listeners: list[Callable[[], None]] = field(default_factory=list, init=False)

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (synchronously, cheaply) whenever state or failure count changes."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._probing or self.clock() - self._opened_at >= self.reset_seconds:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one probe at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            self._changed()
            return True
        return False

    def seconds_until_probe(self) -> float:
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.reset_seconds - (self.clock() - self._opened_at))

    def record_success(self) -> None:
        changed = self._failures != 0 or self._opened_at is not None
        self._failures = 0
        self._opened_at = None
        self._opened_at_wall = None
        self._probing = False
        if changed:
            self._changed()

    def record_failure(self, error: BaseException | None = None) -> None:
        self._failures += 1
        if error is not None:
            self._last_error = type(error).__name__
        if self._probing or self._failures >= self.failure_threshold:
            self._opened_at = self.clock()  # (re)open: a failed probe restarts the wait
            self._opened_at_wall = self.wall_clock()
            self._probing = False
        self._changed()

    def snapshot(self, agency: str, instance_id: str) -> AdapterStatus:
        return AdapterStatus(
            agency=agency,
            instance_id=instance_id,
            state=self.state,
            consecutive_failures=self._failures,
            opened_at=self._opened_at_wall,
            last_error=self._last_error,
            updated_at=self.wall_clock(),
        )
