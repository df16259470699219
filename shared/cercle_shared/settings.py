"""Settings every service shares; each service's config.py extends this one class."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CERCLE_", extra="ignore")

    database_url: str = Field(description="SQLAlchemy URL of the service's own database.")
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers.")
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
    relay_poll_interval: float = Field(default=0.2, gt=0, description="Outbox relay poll interval (s).")
    send_timeout: float = Field(default=5.0, gt=0, description="Bound on every Kafka send (s).")
    shutdown_timeout: float = Field(default=15.0, gt=0, description="Bound on graceful shutdown (s).")
    outbox_retention: float = Field(
        default=86400.0,
        gt=0,
        description="Seconds a published outbox row is kept before the housekeeping job deletes it (Kafka keeps the "
        "event).",
    )
    housekeeping_interval: float = Field(default=300.0, gt=0, description="Seconds between housekeeping runs.")
    log_level: str = Field(default="INFO", description="Python logging level.")
