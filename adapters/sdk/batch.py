"""What adapters of agencies that exchange files in batches share (``BackendStyle.BATCH``).

Such an agency takes records into an open batch and closes it at a cut-off time;
its results come in a result file per batch. The adapter puts one record per step
(the step id as the record id, so a repeat is the same record), answers ACCEPTED
with a :class:`RecordRef` as ``agency_ref`` and a ``poll_after_seconds`` reaching
past the cut-off (:func:`poll_after_cutoff`), and reads the result file when the
hub's poller asks. Each delivery guarantee then rests on something the hub already
has: the step id keeps a record single, the poller re-asks until the file is out,
and a lost answer is asked for again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from adapters.sdk.errors import AgencyAnswerInvalid

#: Between the batch and the record in an ``agency_ref``.
SEPARATOR: Final[str] = "/"


@dataclass(frozen=True, slots=True)
class RecordRef:
    """Where a step's record lives at the agency: its batch and its record id."""

    batch: str
    record: str

    def __post_init__(self) -> None:
        if not self.batch or not self.record or SEPARATOR in self.batch:
            raise ValueError(f"a batch record reference needs a batch without {SEPARATOR!r} and a record")

    def __str__(self) -> str:
        return f"{self.batch}{SEPARATOR}{self.record}"

    @classmethod
    def parse(cls, agency_ref: str) -> RecordRef:
        """The reference ``execute`` reported; anything else is not ours to poll."""
        batch, _, record = agency_ref.partition(SEPARATOR)
        try:
            return cls(batch, record)
        except ValueError:
            raise AgencyAnswerInvalid("agency_ref_invalid", f"{agency_ref[:80]!r} is not a batch record reference") from None


def poll_after_cutoff(cutoff: datetime, *, margin_seconds: float, floor_seconds: float, now: datetime | None = None) -> float:
    """Seconds until the batch's result file should be out: its cut-off plus a margin
    for the agency to write the file, and never less than ``floor_seconds`` (a batch
    already closed whose file is late is asked for again after that)."""
    moment = now or datetime.now(UTC)
    return max(floor_seconds, (cutoff - moment).total_seconds() + margin_seconds)
