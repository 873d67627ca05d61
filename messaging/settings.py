"""How a process reaches the bus: one typed object, shared by the hub and adapters."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

#: Topic families whose retention can be set apart (``mpp.commands.*`` and
#: ``mpp.retry.*`` are one family each); ``default`` covers every one not named.
RETENTION_FAMILIES = frozenset({"default", "requests", "events", "deadletter", "case-events", "commands", "retry"})
DEFAULT_RETENTION_HOURS: dict[str, float] = {
    "default": 7 * 24.0,  # Kafka's own default: a week to recover from any outage
    # Archived in the database as they arrive; the topic is the copy to re-archive from
    # when the archiver was down, so it is kept longer.
    "deadletter": 30 * 24.0,
}

#: The local development broker's admin (deploy/kafka/local_kafka.py: DEV_ADMIN): the
#: default credentials, so ``mpp-hub kafka start`` + ``mpp-hub dev`` need no set-up.
#: Everyone knows them: a production deployment sets its own principal's.
DEV_USERNAME = "mpp-dev"
DEV_PASSWORD = "mpp-dev-kafka-password-not-for-production"

SecurityProtocol = Literal["SASL_PLAINTEXT", "SASL_SSL", "SSL", "PLAINTEXT"]
#: SCRAM for every principal the hub provisions; PLAIN only for an admin the brokers know
#: from their own configuration (the Compose brokers' provisioning admin, deploy/compose.yaml).
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]


class KafkaSettings(BaseModel):
    """The Kafka cluster and how the hub's topics are laid out on it.

    Environment: ``MPP_KAFKA__BOOTSTRAP``, ``MPP_KAFKA__REPLICATION_FACTOR``,
    ``MPP_KAFKA__RETENTION_HOURS='{"events": 48}'``, ... The defaults suit the
    single-node development broker; a production cluster of three brokers wants
    ``replication_factor=3`` and ``min_insync_replicas=2``.

    Each process signs in as its own principal (``MPP_KAFKA__USERNAME``,
    ``MPP_KAFKA__PASSWORD``) with SASL/SCRAM; the broker's ACLs decide what that
    principal may read and write (``mpp-hub kafka principals``). ``SASL_SSL`` adds TLS
    (``MPP_KAFKA__SSL_CAFILE`` names the CA that signed the brokers' certificates).
    ``MPP_KAFKA__PASSWORD_FILE`` reads the password from a file instead (a Compose
    secret), so it need not sit in an environment every process of a host shares.
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
    security_protocol: SecurityProtocol = Field(
        default="SASL_PLAINTEXT", description="SASL_SSL in production; PLAINTEXT only for a broker without authentication."
    )
    sasl_mechanism: SaslMechanism = Field(default="SCRAM-SHA-512", description="The SASL mechanism the brokers enable.")
    username: str | None = Field(default=DEV_USERNAME, description="This process's principal on the bus.")
    password: SecretStr | None = Field(default=SecretStr(DEV_PASSWORD), description="That principal's SCRAM password.")
    password_file: Path | None = Field(default=None, description="A file holding that password; it replaces ``password``.")
    ssl_cafile: Path | None = Field(default=None, description="CA bundle for TLS to the brokers (SSL, SASL_SSL); default: the system's.")
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
    def _signs_in(self) -> Self:
        if self.password_file is not None:
            try:
                self.password = SecretStr(self.password_file.read_text().strip())
            except OSError as exc:
                raise ValueError(f"password_file {self.password_file} cannot be read ({exc.strerror})") from None
        if self.security_protocol.startswith("SASL") and not (self.username and self.password and self.password.get_secret_value()):
            raise ValueError(f"{self.security_protocol} needs a username and a password")
        return self

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

    def as_principal(self, username: str, password: str) -> KafkaSettings:
        """The same cluster, signed in as another principal."""
        return self.model_copy(update={"username": username, "password": SecretStr(password)})

    def client_options(self) -> dict[str, Any]:
        """The connection keywords every aiokafka client of ours takes (messaging/clients.py)."""
        options: dict[str, Any] = {"bootstrap_servers": self.bootstrap, "security_protocol": self.security_protocol}
        if self.security_protocol.endswith("SSL"):
            options["ssl_context"] = ssl.create_default_context(cafile=str(self.ssl_cafile) if self.ssl_cafile else None)
        if self.security_protocol.startswith("SASL"):
            assert self.password is not None  # _signs_in
            options |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password.get_secret_value(),
            }
        return options
