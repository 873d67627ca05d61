"""Testing an adapter: the simulator scaffold agencies build their backend stand-ins on,
and the contract kit (:mod:`adapters.sdk.testing.contract_kit`) that verifies an adapter
against its simulator.

The scaffold, by module: :mod:`~adapters.sdk.testing.scaffold` (the one request
pipeline and the app), :mod:`~adapters.sdk.testing.operations` (operations declared as
data), :mod:`~adapters.sdk.testing.dialect` (how a protocol says things),
:mod:`~adapters.sdk.testing.knobs` (fault knobs), :mod:`~adapters.sdk.testing.ledger`
(apply once per key), :mod:`~adapters.sdk.testing.clock` (local time and the hub's
working-day calendar), :mod:`~adapters.sdk.testing.derive` (stable numbers),
:mod:`~adapters.sdk.testing.registers` (registers several agencies read) and
:mod:`~adapters.sdk.testing.client` (driving a simulator from tests). The names a
simulator needs are re-exported here.
"""

from adapters.sdk.testing.clock import WIB, Clock, SimClock, add_months, add_years
from adapters.sdk.testing.derive import fingerprint, pnbp_billing_code, stable_digits, stable_int
from adapters.sdk.testing.dialect import ApiKeyDialect, Dialect, JsonDialect, Say, problem_lines
from adapters.sdk.testing.knobs import Fault, Knobs, SimulatorRuntime
from adapters.sdk.testing.ledger import Ledger, LedgerEntry, LedgerResult, Outcome, Produced
from adapters.sdk.testing.operations import BadKey, Call, Endpoint, KeyRule, Malformed, Operation, Query, Refusal
from adapters.sdk.testing.scaffold import Simulator

__all__ = [
    "WIB",
    "ApiKeyDialect",
    "BadKey",
    "Call",
    "Clock",
    "Dialect",
    "Endpoint",
    "Fault",
    "JsonDialect",
    "KeyRule",
    "Knobs",
    "Ledger",
    "LedgerEntry",
    "LedgerResult",
    "Malformed",
    "Operation",
    "Outcome",
    "Produced",
    "Query",
    "Refusal",
    "Say",
    "SimClock",
    "Simulator",
    "SimulatorRuntime",
    "add_months",
    "add_years",
    "fingerprint",
    "pnbp_billing_code",
    "problem_lines",
    "stable_digits",
    "stable_int",
]
