"""The few outcomes an adapter can signal besides success; the worker maps each to
a retry, a canonical status, or a dead letter."""

from __future__ import annotations

from messaging.errors import PoisonMessage, RetryLater

__all__ = [
    "AgencyAnswerInvalid",
    "AgencyRejection",
    "PoisonMessage",
    "RetryLater",
    "StepOutcomeError",
    "TransientBackendError",
    "UndeclaredCapability",
]


class TransientBackendError(Exception):
    """The agency could not answer now (5xx, timeout, overload); retrying may help."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StepOutcomeError(Exception):
    """The step ended without success; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str, *, agency_code: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.agency_code = agency_code


class AgencyRejection(StepOutcomeError):
    """The agency refused on the merits (unknown plate, owner mismatch): REJECTED."""


class AgencyAnswerInvalid(StepOutcomeError):
    """The agency answered something we cannot interpret: FAILED, never a crash."""


class UndeclaredCapability(RuntimeError):
    """An adapter was asked to poll, cancel or translate a callback without declaring
    that capability: the caller's bug, since the worker reads ``capabilities`` first."""

    def __init__(self, agency: str, capability: str) -> None:
        super().__init__(f"{agency} does not declare the {capability} capability")
        self.agency = agency
        self.capability = capability
