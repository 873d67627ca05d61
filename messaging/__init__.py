"""The bus runtime the hub and every adapter share; depends only on ``schemas``.

- ``settings``: :class:`KafkaSettings`, how a process reaches the cluster and lays out topics;
- ``clients``: the producer and consumer factories;
- ``headers``: the one Kafka-headers type and helper;
- ``topology``: every topic, declared once, and the one place that creates them;
- ``consume``: the one partition-aware consume loop, with its decoders and failure policy;
- ``deadletters``, ``retry``, ``retry_levels``: dead letters, the retry policy, the retry topics;
- ``status``: the adapter breaker status published on ``mpp.adapter-status``;
- ``tracing``: the bus's OpenTelemetry spans and the log context of the record at work;
- ``errors``: what a handler raises to say "poison" or "not now".
"""

from messaging.clients import create_admin, create_consumer, create_producer, started
from messaging.consume import ConsumeLoop, FailurePolicy, decode_envelope, raw_record, skip_poison
from messaging.deadletters import DeadLetters
from messaging.errors import PoisonMessage, RetryLater
from messaging.headers import KafkaHeaders, envelope_headers, header
from messaging.retry import RetryPolicy
from messaging.settings import KafkaSettings
from messaging.topology import TopicSpec, Topology

__all__ = [
    "ConsumeLoop",
    "DeadLetters",
    "FailurePolicy",
    "KafkaHeaders",
    "KafkaSettings",
    "PoisonMessage",
    "RetryLater",
    "RetryPolicy",
    "TopicSpec",
    "Topology",
    "create_admin",
    "create_consumer",
    "create_producer",
    "decode_envelope",
    "envelope_headers",
    "header",
    "raw_record",
    "skip_poison",
    "started",
]
