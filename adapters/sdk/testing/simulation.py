"""A toolkit for agency backend simulators: fault knobs, an apply-once ledger, and
the control endpoints fault tests and the contract kit drive.

A simulator imitates a foreign system, so its native protocol is its own; what
every simulator shares is how it misbehaves on purpose and how it proves it never
applied an idempotency key twice. That part lives here, once.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Final

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Knobs(BaseModel):
    """Fault knobs every simulator understands; agencies subclass to add their own.

    Unknown fields are refused so a typo in a fault test fails loudly."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_ms: int = Field(default=0, ge=0, le=600_000, description="Delay added to each native request.")
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="Fraction refused as overloaded before applying anything.")
    down: bool = Field(default=False, description="Every native request fails as unavailable.")
    drop_reply_after_apply: float = Field(default=0.0, ge=0.0, le=1.0, description="Fraction applied, then answered as a gateway timeout.")
    garble_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="Fraction applied, then answered with a body that is not the protocol.")
    daily_quota: int | None = Field(default=None, ge=0, description="Max applications per day.")
    seed: int = Field(default=0, description="Seed of the simulator's own random.Random.")


class Fault(StrEnum):
    """What the gate decided before the operation runs."""

    DOWN = "down"
    BUSY = "busy"


class Outcome(StrEnum):
    APPLIED = "applied"
    REPLAYED = "replayed"
    CONFLICT = "conflict"
    QUOTA_EXCEEDED = "quota_exceeded"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    key: str
    operation: str
    subject: str
    fingerprint: str
    response: dict[str, Any]
    state: dict[str, Any]
    applied_at: str
    replays: int

    def public(self) -> dict[str, Any]:
        return {"key": self.key, "operation": self.operation, "subject": self.subject, "applied_at": self.applied_at, "replays": self.replays, "state": self.state}


@dataclass(frozen=True, slots=True)
class LedgerResult:
    outcome: Outcome
    entry: LedgerEntry | None


_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS ledger (
    id          INTEGER PRIMARY KEY,
    idem_key    TEXT NOT NULL UNIQUE,
    operation   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response    TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT '{}',
    applied_at  TEXT NOT NULL,
    applied_on  TEXT NOT NULL,
    replays     INTEGER NOT NULL DEFAULT 0
)
"""
_COLUMNS: Final = "idem_key, operation, subject, fingerprint, response, state, applied_at, replays"


class Ledger:
    """Apply-once ledger of idempotency keys in SQLite (``:memory:`` or a file that
    survives restarts). "Look up the key, then insert" runs under a lock and an
    SQLite ``BEGIN IMMEDIATE``, so it is atomic across threads and processes; the
    UNIQUE key is the last line of defence."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        with self._lock:
            if path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(_SCHEMA)

    def apply_once(
        self,
        key: str,
        *,
        operation: str,
        subject: str,
        fingerprint: str,
        produce: Callable[[int], dict[str, Any]],
        today: date,
        quota: int | None = None,
        state: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> LedgerResult:
        """Apply ``produce(sequence)`` once per key and store its response.

        The same key with the same fingerprint replays the stored response; with
        another fingerprint it is a conflict. ``subject`` must not be personal data.
        ``produce`` may raise to refuse on the merits: nothing is recorded and the
        exception propagates, so a later request with the same key can still apply.
        ``now`` is the simulator's clock (default: the system clock), so ``applied_at``
        agrees with ``today`` when a test injects a clock."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                existing = self._find(key)
                if existing is not None:
                    if existing.fingerprint != fingerprint:
                        result = LedgerResult(Outcome.CONFLICT, existing)
                    else:
                        self._conn.execute("UPDATE ledger SET replays = replays + 1 WHERE idem_key = ?", (key,))
                        result = LedgerResult(Outcome.REPLAYED, self._find(key))
                elif quota is not None and self._applied_on(today) >= quota:
                    result = LedgerResult(Outcome.QUOTA_EXCEEDED, None)
                else:
                    (sequence,) = self._conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM ledger").fetchone()
                    response = produce(int(sequence))
                    applied_at = now or datetime.now(UTC)
                    self._conn.execute(
                        f"INSERT INTO ledger (id, {_COLUMNS.replace(', replays', '')}, applied_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (sequence, key, operation, subject, fingerprint, json.dumps(response), json.dumps(state or {}),
                         applied_at.isoformat(timespec="milliseconds"), today.isoformat()),
                    )
                    result = LedgerResult(Outcome.APPLIED, self._find(key))
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return result

    def get(self, key: str) -> LedgerEntry | None:
        with self._lock:
            return self._find(key)

    def update_state(self, key: str, state: dict[str, Any]) -> None:
        """Progress of an asynchronous operation (e.g. a verdict sent, a passport printed)."""
        with self._lock:
            self._conn.execute("UPDATE ledger SET state = ? WHERE idem_key = ?", (json.dumps(state), key))

    def entries(self) -> list[LedgerEntry]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM ledger ORDER BY id").fetchall()
        return [_entry(row) for row in rows]

    def summary(self) -> dict[str, Any]:
        entries = self.entries()
        return {"entries": [e.public() for e in entries], "applied": len(entries), "replayed": sum(e.replays for e in entries)}

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _find(self, key: str) -> LedgerEntry | None:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM ledger WHERE idem_key = ?", (key,)).fetchone()
        return None if row is None else _entry(row)

    def _applied_on(self, day: date) -> int:
        (n,) = self._conn.execute("SELECT COUNT(*) FROM ledger WHERE applied_on = ?", (day.isoformat(),)).fetchone()
        return int(n)


def _entry(row: tuple[Any, ...]) -> LedgerEntry:
    key, operation, subject, fingerprint, response, state, applied_at, replays = row
    return LedgerEntry(key, operation, subject, fingerprint, json.loads(response), json.loads(state), applied_at, int(replays))


class SimulatorRuntime:
    """Knobs, randomness and ledger of one simulator instance."""

    def __init__(self, knobs: Knobs, ledger: Ledger) -> None:
        self.knobs = knobs
        self.ledger = ledger
        self.rng = random.Random(knobs.seed)

    def roll(self, rate: float) -> bool:
        return rate > 0 and (rate >= 1 or self.rng.random() < rate)

    async def gate(self) -> Fault | None:
        """Apply latency, then decide whether this request fails before doing anything."""
        if self.knobs.down:
            return Fault.DOWN
        if self.knobs.latency_ms:
            await asyncio.sleep(self.knobs.latency_ms / 1000)
        if self.roll(self.knobs.error_rate):
            return Fault.BUSY
        return None

    def drop_reply(self) -> bool:
        return self.roll(self.knobs.drop_reply_after_apply)

    def garble_reply(self) -> bool:
        return self.roll(self.knobs.garble_rate)


def control_router(runtime: SimulatorRuntime) -> APIRouter:
    """``/_sim/health``, ``/_sim/ledger`` and ``/_sim/knobs`` (GET, partial PUT)."""
    router = APIRouter(prefix="/_sim", tags=["simulator control"])
    knobs_model = type(runtime.knobs)

    @router.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    @router.get("/ledger")
    async def ledger() -> dict[str, Any]:
        return runtime.ledger.summary()

    @router.get("/knobs")
    async def get_knobs() -> dict[str, Any]:
        return runtime.knobs.model_dump(mode="json")

    @router.put("/knobs")
    async def put_knobs(request: Request) -> JSONResponse:
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise TypeError("knobs must be a JSON object")
            merged = knobs_model.model_validate({**runtime.knobs.model_dump(), **changes})
        except (ValueError, TypeError, ValidationError) as exc:
            # exc.json(): the errors' ctx may hold exception objects (custom validators) that plain JSON cannot carry.
            detail = json.loads(exc.json(include_input=False)) if isinstance(exc, ValidationError) else str(exc)
            return JSONResponse({"error": "invalid knobs", "detail": detail}, status_code=422)
        if "seed" in changes:
            # Any PUT of a seed restarts the sequence, even the same seed: that is what makes a fault pattern reproducible.
            runtime.rng = random.Random(merged.seed)
        runtime.knobs = merged
        return JSONResponse(merged.model_dump(mode="json"))

    return router


def simulator_app(runtime: SimulatorRuntime, *, title: str, description: str = "", version: str = "1.0.0", state: Any = None) -> FastAPI:
    """The FastAPI app every simulator starts from: its ledger closes with the app, the
    ``/_sim`` control endpoints are mounted, and ``app.state.simulator`` (the agency's
    own state object, or the runtime) and ``app.state.runtime`` are set for tests."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            runtime.ledger.close()

    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    app.state.simulator = runtime if state is None else state
    app.state.runtime = runtime
    app.include_router(control_router(runtime))
    return app
