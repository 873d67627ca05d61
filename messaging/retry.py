"""One retry policy for every retry of ours: how many tries, and how long between them.

The consume loop's handler errors, the outbox relay's publish failures and an
adapter's short in-process retries all back off the same way: ``base × 2^(n-1)``
after the n-th failure in a row, capped (0.2 s, 0.4 s, 0.8 s, ... up to ``cap``).
"""

from __future__ import annotations

from dataclasses import dataclass

_MAX_DOUBLINGS = 30  # 2**30 × base is past any sensible cap; keeps the float finite


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts``: tries before giving up (None: never; a bus consumer skips nothing)."""

    attempts: int | None = None
    base_seconds: float = 0.2
    cap_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts is not None and self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_seconds <= 0 or self.cap_seconds <= 0:
            raise ValueError("backoff base and cap must be positive")

    def delay(self, failures: int) -> float:
        """How long to wait after the ``failures``-th failure in a row (1-based)."""
        if failures < 1:
            return 0.0
        return float(min(self.cap_seconds, self.base_seconds * 2 ** min(failures - 1, _MAX_DOUBLINGS)))

    def exhausted(self, failures: int) -> bool:
        return self.attempts is not None and failures >= self.attempts

    def worst_case_seconds(self, per_try_seconds: float) -> float:
        """Longest all tries can take when each runs ``per_try_seconds`` and every wait is
        the cap (a slight over-estimate: there is no wait after the last try)."""
        if self.attempts is None:
            raise ValueError("a policy without an attempt limit has no worst case")
        return self.attempts * (per_try_seconds + self.cap_seconds)
