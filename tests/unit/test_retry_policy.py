"""Specification of the one retry policy (messaging/retry.py): attempts, backoff, cap."""

from __future__ import annotations

import pytest

from messaging import RetryPolicy


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    policy = RetryPolicy(base_seconds=0.2, cap_seconds=1.0)
    assert [policy.delay(n) for n in range(1, 6)] == pytest.approx([0.2, 0.4, 0.8, 1.0, 1.0])


def test_no_failure_means_no_wait() -> None:
    assert RetryPolicy().delay(0) == 0


def test_a_very_long_run_of_failures_stays_at_the_cap() -> None:
    assert RetryPolicy(cap_seconds=5).delay(10_000) == 5


def test_without_an_attempt_limit_nothing_is_ever_given_up() -> None:
    assert not RetryPolicy().exhausted(10_000)
    assert RetryPolicy(attempts=3).exhausted(3)
    assert not RetryPolicy(attempts=3).exhausted(2)


def test_the_worst_case_is_every_try_timing_out_and_every_wait_capped() -> None:
    assert RetryPolicy(attempts=4, cap_seconds=2).worst_case_seconds(per_try_seconds=10) == 48
    with pytest.raises(ValueError):
        RetryPolicy().worst_case_seconds(per_try_seconds=10)


@pytest.mark.parametrize("values", [{"attempts": 0}, {"base_seconds": 0}, {"cap_seconds": -1}])
def test_nonsense_is_refused(values: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**values)  # type: ignore[arg-type]
