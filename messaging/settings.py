"""How a process reaches the bus: one typed object, shared by the hub and adapters."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, Field, field_validator, model_validator

#: Topic families whose retention can be set apart (``mpp.commands.*`` and
#: ``mpp.retry.*`` are one family each); ``default`` covers every one not named.
RETENTION_FAMILIES = frozenset({"default", "requests", "events", "deadletter", "case-events", "commands", "retry"})
DEFAULT_RETENTION_HOURS: dict[str, float] = {
    "default": 7 * 24.0,  # Kafka's own default: a week to recover from any outage
    # Archived in the database as they arrive; the topic is the copy to re-archive from
    # when the archiver was down, so it is kept longer.
    "deadletter": 30 * 24.0,
}


class KafkaSettings(BaseModel):
    """The Kafka cluster and how the hub's topics are laid out on it.

    Environment: ``MPP_KAFKA__BOOTSTRAP``, ``MPP_KAFKA__REPLICATION_FACTOR``,
    ``MPP_KAFKA__RETENTION_HOURS='{"events": 48}'``, ... The defaults suit the
    single-node development broker; a production cluster of three brokers wants
    ``replication_factor=3`` and ``min_insync_replicas=2``.
    """

    bootstrap: str = Field(default="127.0.0.1:9092", description="Comma-separated host:port list of brokers.")
    partitions: int = Field(default=3, ge=1, description="Partitions of each keyed topic: the most consumers a role can use.")
    replication_factor: int = Field(default=1, ge=1, description="Copies of each partition: 3 on a production cluster.")
    min_insync_replicas: int = Field(default=1, ge=1, description="Replicas that must ack a write (acks=all): 2 on a production cluster.")
    retention_hours: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_RETENTION_HOURS),
        description="How long records are kept, per topic family (requests, events, deadletter, case-events, commands, retry) "
        "or 'default'; what is given is laid over the defaults. Compacted topics keep each key's latest record instead.",
    )
    consumer_batch_size: int = Field(default=200, ge=1, description="Records fetched per poll.")
    max_poll_interval_seconds: float = Field(
        default=300.0, gt=0, description="A consumer that does not poll for this long leaves its group (max.poll.interval.ms)."
    )

    @field_validator("retention_hours", mode="before")
    @classmethod
    def _over_defaults(cls, value: Any) -> Any:
        return {**DEFAULT_RETENTION_HOURS, **value} if isinstance(value, dict) else value

    @field_validator("retention_hours")
    @classmethod
    def _known_families(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - RETENTION_FAMILIES)
        if unknown:
            raise ValueError(f"unknown topic families {unknown}; known: {sorted(RETENTION_FAMILIES)}")
        if any(hours <= 0 for hours in value.values()):
            raise ValueError("retention must be positive")
        return value

    @model_validator(mode="after")
    def _writable(self) -> Self:
        if self.min_insync_replicas > self.replication_factor:
            raise ValueError(
                f"min_insync_replicas ({self.min_insync_replicas}) above replication_factor ({self.replication_factor}): "
                "no acks=all write could ever succeed"
            )
        return self

    def retention_ms(self, family: str) -> int:
        hours = self.retention_hours.get(family, self.retention_hours["default"])
        return int(hours * 3600 * 1000)
