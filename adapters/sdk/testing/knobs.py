"""Fault knobs and the runtime that applies them: how a simulator misbehaves on purpose.

A simulator imitates a foreign system, so its protocol is its own; its bad days
(slowness, overload, outages, replies lost or mangled after the work was done, daily
quotas) are common to all and are switched on the same way, through ``/_sim/knobs``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field

from adapters.sdk.testing.clock import Clock, SimClock
from adapters.sdk.testing.ledger import Ledger


class Knobs(BaseModel):
    """Fault knobs every simulator understands; agencies subclass to add their own.

    Unknown fields are refused so a typo in a fault test fails loudly."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_ms: int = Field(default=0, ge=0, le=600_000, description="Delay added to each native request.")
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="Fraction refused as overloaded before applying anything.")
    down: bool = Field(default=False, description="Every native request fails as unavailable.")
    drop_reply_after_apply: float = Field(default=0.0, ge=0.0, le=1.0, description="Fraction applied, then answered as a gateway timeout.")
    garble_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Fraction applied, then answered with a body that is not the protocol."
    )
    daily_quota: int | None = Field(default=None, ge=0, description="Max applications per day.")
    seed: int = Field(default=0, description="Seed of the simulator's own random.Random.")


class Fault(StrEnum):
    """What the gate decided before the operation runs."""

    DOWN = "down"
    BUSY = "busy"


#: Called with knobs just put through ``/_sim/knobs``; returns the knobs to keep
#: (a trigger such as "revoke every token" acts, then resets itself).
KnobTrigger = Callable[[Knobs], Knobs]


class SimulatorRuntime:
    """Knobs, randomness, ledger and clock of one simulator instance.

    Subclasses change *when* the backend is down or how slow it is (maintenance
    windows, jitter) by overriding :meth:`down_for` and :meth:`delay_ms`."""

    def __init__(self, knobs: Knobs, ledger: Ledger, clock: SimClock | None = None) -> None:
        self.knobs = knobs
        self.ledger = ledger
        self.clock = clock or SimClock()
        self.rng = random.Random(knobs.seed)
        self.triggers: list[KnobTrigger] = []

    @classmethod
    def open(cls, knobs: Knobs, *, ledger_path: str = ":memory:", clock: Clock | None = None) -> Self:
        """A runtime with its own ledger (a file survives restarts) and a clock (a test's, or the system's)."""
        return cls(knobs, Ledger(ledger_path), SimClock(clock))

    def roll(self, rate: float) -> bool:
        return rate > 0 and (rate >= 1 or self.rng.random() < rate)

    def down_for(self) -> float | None:
        """``None`` when up; else seconds until it is back (``0.0``: unknown)."""
        return 0.0 if self.knobs.down else None

    def delay_ms(self) -> float:
        return float(self.knobs.latency_ms)

    async def gate(self) -> Fault | None:
        """Apply latency, then decide whether this request fails before doing anything."""
        if self.down_for() is not None:
            return Fault.DOWN
        if delay := self.delay_ms():
            await asyncio.sleep(delay / 1000)
        if self.roll(self.knobs.error_rate):
            return Fault.BUSY
        return None

    def drop_reply(self) -> bool:
        return self.roll(self.knobs.drop_reply_after_apply)

    def garble_reply(self) -> bool:
        return self.roll(self.knobs.garble_rate)

    def set_knobs(self, knobs: Knobs, *, reseed: bool) -> Knobs:
        """Install new knobs, run the triggers, and restart the random sequence if asked
        (any PUT of a seed does, even the same seed: that makes a fault pattern reproducible)."""
        for trigger in self.triggers:
            knobs = trigger(knobs)
        if reseed:
            self.rng = random.Random(knobs.seed)
        self.knobs = knobs
        return knobs
