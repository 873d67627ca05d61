"""The few outcomes an adapter can signal besides success; the worker maps each to
a retry, a canonical status, or a dead letter."""

from __future__ import annotations


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


class PoisonMessage(Exception):
    """A bus message that can never be processed (undecodable, schema-invalid).

    It goes straight to the dead-letter topic instead of a hot retry loop."""


class RetryLater(Exception):
    """Not now: leave the record where it is, pause consumption for ``delay`` seconds
    and try it again (an agency outage with the circuit open). Nothing is failed and
    no retry budget is burned while waiting."""

    def __init__(self, delay: float, reason: str) -> None:
        super().__init__(reason)
        self.delay = delay
