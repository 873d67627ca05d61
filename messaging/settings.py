"""How a process reaches the bus: one typed object, shared by the hub and adapters."""

from __future__ import annotations

from pydantic import BaseModel, Field


class KafkaSettings(BaseModel):
    """The Kafka cluster and how the hub's topics are laid out on it.

    Environment: ``MPP_KAFKA__BOOTSTRAP``, ``MPP_KAFKA__PARTITIONS``, ...
    """

    bootstrap: str = Field(default="127.0.0.1:9092", description="Comma-separated host:port list of brokers.")
    partitions: int = Field(default=3, ge=1, description="Partitions of each keyed topic: the most consumers a role can use.")
    replication_factor: int = Field(default=1, ge=1, description="Copies of each partition: 3 on a production cluster.")
    min_insync_replicas: int = Field(default=1, ge=1, description="Replicas that must ack a write (acks=all): 2 on a production cluster.")
    consumer_batch_size: int = Field(default=200, ge=1, description="Records fetched per poll.")
