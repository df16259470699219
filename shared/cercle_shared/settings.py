"""Settings every service shares; each service's config.py extends this one class."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """How to reach and authenticate to Kafka: the services, the topics step and cercle-ops read the same variables."""

    model_config = SettingsConfigDict(env_prefix="CERCLE_", extra="ignore")

    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers.")
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT",
        description="PLAINTEXT (a developer's loopback broker), SASL_PLAINTEXT or SASL_SSL (SCRAM-SHA-512 with this "
        "process's own principal).",
    )
    kafka_sasl_username: str | None = Field(
        default=None, description="SCRAM-SHA-512 user name (a service's principal, e.g. cercle-sessions)."
    )
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SCRAM-SHA-512 password; no default.")
    kafka_ssl_cafile: str | None = Field(
        default=None, description="PEM file of the CA that signed the broker's certificate (SASL_SSL)."
    )

    kafka_replication_factor: int = Field(
        default=1, ge=1, description="Replicas of each topic the topics step creates: 1 on one broker, 3 on a cluster."
    )
    kafka_min_insync_replicas: int = Field(
        default=1,
        ge=1,
        description="min.insync.replicas of each topic: with acks=all, how many replicas must hold a record before "
        "it is acknowledged (2 of 3 on a cluster: one broker may be lost).",
    )

    @property
    def kafka_bootstrap_servers(self) -> list[str]:
        """The brokers as a list: given one comma-separated string, a client may take it for a single host name."""
        return [server.strip() for server in self.kafka_bootstrap.split(",") if server.strip()]

    @model_validator(mode="after")
    def _credentials_with_sasl(self) -> KafkaSettings:
        if self.kafka_security_protocol != "PLAINTEXT" and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(
                f"CERCLE_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs CERCLE_KAFKA_SASL_USERNAME and "
                "CERCLE_KAFKA_SASL_PASSWORD"
            )
        return self


class ServiceSettings(KafkaSettings):
    model_config = SettingsConfigDict(env_prefix="CERCLE_", extra="ignore")

    database_url: str = Field(description="SQLAlchemy URL of the service's own database.")
    jwt_secret: SecretStr = Field(
        min_length=32, description="HS256 secret for bearer tokens, 32 bytes or more; no default on purpose."
    )
    consumer_group: str | None = Field(
        default=None, description="Kafka consumer group; default cercle-<service>. One group per deployment."
    )
    http_host: str = Field(default="127.0.0.1", description="Interface the HTTP API listens on.")
    http_port: int = Field(description="Port the HTTP API listens on.")
    consumer_max_attempts: int = Field(default=5, ge=1, description="Handler attempts before dead-lettering.")
    consumer_batch_size: int = Field(
        default=100, ge=1, description="Records fetched at once; their offsets are committed together."
    )
    consumer_backoff_initial: float = Field(default=0.2, gt=0, description="First retry delay, doubled each time.")
    consumer_backoff_max: float = Field(default=5.0, gt=0, description="Longest retry delay.")
    relay_poll_interval: float = Field(
        default=0.2, gt=0, description="Outbox relay poll interval (s): the fallback; a commit wakes it at once."
    )
    relay_batch_size: int = Field(
        default=500, ge=1, description="Outbox rows the relay reads, publishes and marks at once (pipelined)."
    )
    relay_lease_retry: float = Field(
        default=1.0,
        gt=0,
        description="PostgreSQL: seconds between a standby relay's tries to take the service's relay lock (one "
        "active relay per service); bounds the take-over after the holder dies.",
    )
    send_timeout: float = Field(default=5.0, gt=0, description="Bound on every Kafka send (s).")
    shutdown_timeout: float = Field(default=15.0, gt=0, description="Bound on graceful shutdown (s).")
    outbox_retention: float = Field(
        default=86400.0,
        gt=0,
        description="Seconds a published outbox row is kept before the housekeeping job deletes it (Kafka keeps the "
        "event).",
    )
    database_pre_ping: bool = Field(
        default=False,
        description="Test each pooled database connection with a round trip before every transaction: no "
        "transaction fails after a database restart, at the cost of one round trip each.",
    )
    processed_events_retention: float = Field(
        default=30 * 86400.0,
        gt=0,
        description="Seconds the consumer remembers an applied event's id before the housekeeping job forgets it; "
        "longer than any redelivery (an offset not yet committed, a consumer down for days). A replay after that "
        "is still applied once: projections and reactions are idempotent on their own keys.",
    )
    housekeeping_interval: float = Field(default=300.0, gt=0, description="Seconds between housekeeping runs.")
    log_level: str = Field(default="INFO", description="Python logging level.")
