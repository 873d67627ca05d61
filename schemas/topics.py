"""Kafka topic names: part of the contract, since agencies' adapters consume them."""

from __future__ import annotations

REQUESTS = "mpp.requests"
EVENTS_PREFIX = "mpp.events."  # one report topic per agency: the topic says who speaks
DEADLETTER = "mpp.deadletter"
ADAPTER_STATUS = "mpp.adapter-status"  # compacted: latest circuit-breaker state per adapter instance
CASE_EVENTS = "mpp.case-events"  # notable case events for other systems (e.g. SLA breaches)
COMMANDS_PREFIX = "mpp.commands."


def commands(agency: str) -> str:
    """The topic an agency's adapter consumes its step commands from."""
    return f"{COMMANDS_PREFIX}{agency}"


def events(agency: str) -> str:
    """The topic an agency's adapter reports its steps' status on; only that adapter's
    principal may write to it, so the router knows from the topic which agency speaks."""
    return f"{EVENTS_PREFIX}{agency}"


def agency_of_events(topic: str) -> str | None:
    """The agency whose report topic ``topic`` is; None for any other topic."""
    agency = topic.removeprefix(EVENTS_PREFIX)
    return agency if topic.startswith(EVENTS_PREFIX) and agency else None
