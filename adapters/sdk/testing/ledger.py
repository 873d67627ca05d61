"""The apply-once ledger every simulator keeps: the proof that an agency never applied
one idempotency key twice, which the hub's "nothing is done twice" story is checked
against (the contract kit and the fault suite read it through ``/_sim/ledger``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Final


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
        return {
            "key": self.key,
            "operation": self.operation,
            "subject": self.subject,
            "applied_at": self.applied_at,
            "replays": self.replays,
            "state": self.state,
        }


@dataclass(frozen=True, slots=True)
class LedgerResult:
    outcome: Outcome
    entry: LedgerEntry | None


@dataclass(frozen=True, slots=True)
class Produced:
    """What ``produce`` may return instead of a bare response: the response and the
    entry's first state, decided in the same transaction (e.g. an application's stage,
    or the callbacks it will send)."""

    response: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)


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
        produce: Callable[[int], dict[str, Any] | Produced],
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
        It returns the response, or a :class:`Produced` with the entry's state
        (which then replaces ``state``). ``now`` is the simulator's clock (default:
        the system clock), so ``applied_at`` agrees with ``today`` when a test
        injects a clock."""
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
                    produced = produce(int(sequence))
                    if not isinstance(produced, Produced):
                        produced = Produced(produced, state or {})
                    applied_at = now or datetime.now(UTC)
                    self._conn.execute(
                        f"INSERT INTO ledger (id, {_COLUMNS.replace(', replays', '')}, applied_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            sequence,
                            key,
                            operation,
                            subject,
                            fingerprint,
                            json.dumps(produced.response),
                            json.dumps(produced.state),
                            applied_at.isoformat(timespec="milliseconds"),
                            today.isoformat(),
                        ),
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

    def find_by_state(self, name: str, value: str) -> LedgerEntry | None:
        """The entry whose state has ``name`` = ``value`` (e.g. the application number
        an agency handed out, which its status polls quote instead of the key)."""
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM ledger WHERE json_extract(state, ?) = ? ORDER BY id LIMIT 1", (f'$."{name}"', value)
            ).fetchone()
        return None if row is None else _entry(row)

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
        """Close the database; closing twice is harmless (an app's shutdown and a test may both do it)."""
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
