"""How a handler tells the consume loop what to do with a record it cannot finish."""

from __future__ import annotations


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
