"""Kafka topic names: part of the contract, since agencies' adapters consume them."""

from __future__ import annotations

REQUESTS = "mpp.requests"
EVENTS = "mpp.events"
DEADLETTER = "mpp.deadletter"
ADAPTER_STATUS = "mpp.adapter-status"  # compacted: latest circuit-breaker state per adapter instance
CASE_EVENTS = "mpp.case-events"  # notable case events for other systems (e.g. SLA breaches)
COMMANDS_PREFIX = "mpp.commands."


def commands(agency: str) -> str:
    """The topic an agency's adapter consumes its step commands from."""
    return f"{COMMANDS_PREFIX}{agency}"
