"""One lifecycle for cases and steps, whatever the agency calls its own states."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Canonical status of a case or of one step of it.

    Each agency's own statuses are mapped onto these by its adapter, so the portal
    and operators read one vocabulary across Samsat, Polri, Imigrasi, DJP and Kemenag.
    """

    SUBMITTED = "SUBMITTED"
    ROUTED = "ROUTED"
    ACCEPTED = "ACCEPTED"
    NEEDS_REVISION = "NEEDS_REVISION"
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    IN_PROCESS = "IN_PROCESS"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL: frozenset[Status] = frozenset({Status.COMPLETED, Status.REJECTED, Status.CANCELLED, Status.EXPIRED, Status.FAILED})

# Which moves are legal. An agency reporting anything else is refused and recorded,
# never applied: a late "IN_PROCESS" must not resurrect a COMPLETED step.
_ACTIVE = frozenset(Status) - TERMINAL - {Status.SUBMITTED}  # under way: neither new nor ended
ALLOWED_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.SUBMITTED: frozenset({Status.ROUTED, Status.CANCELLED, Status.FAILED, Status.REJECTED}),
    **{s: frozenset((_ACTIVE | TERMINAL) - {s, Status.ROUTED}) for s in _ACTIVE},
    # A case whose step was returned for correction goes back to ROUTED when the
    # portal resubmits (the step itself is superseded by a new one).
    Status.NEEDS_REVISION: frozenset((_ACTIVE | TERMINAL) - {Status.NEEDS_REVISION}),
    **{s: frozenset() for s in TERMINAL},
}


def can_transition(current: Status, new: Status) -> bool:
    return new in ALLOWED_TRANSITIONS[current]
