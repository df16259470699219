"""How every Kafka client of Cercle authenticates: one translation of KafkaSettings per client library.

PLAINTEXT (the default) adds nothing, so a developer's loopback broker and the existing tests see the clients
exactly as before. SASL_PLAINTEXT / SASL_SSL use SCRAM-SHA-512 with the process's own principal; the password
leaves its SecretStr only here, into the client's configuration, never into a log line.
"""

from __future__ import annotations

import ssl
from typing import Any

from faststream.security import BaseSecurity, SASLScram512

from ..settings import KafkaSettings

MECHANISM = "SCRAM-SHA-512"


def ssl_context(settings: KafkaSettings) -> ssl.SSLContext | None:
    """A verifying TLS context for SASL_SSL (the configured CA, else the system's), None otherwise."""
    if settings.kafka_security_protocol != "SASL_SSL":
        return None
    return ssl.create_default_context(cafile=settings.kafka_ssl_cafile)


def _credentials(settings: KafkaSettings) -> tuple[str, str]:
    # KafkaSettings refuses a SASL protocol without both.
    assert settings.kafka_sasl_username
    assert settings.kafka_sasl_password
    return settings.kafka_sasl_username, settings.kafka_sasl_password.get_secret_value()


def faststream_security(settings: KafkaSettings) -> BaseSecurity | None:
    """FastStream's broker (its aiokafka producer and every subscriber's consumer)."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    username, password = _credentials(settings)
    context = ssl_context(settings)
    return SASLScram512(username, password, ssl_context=context, use_ssl=context is not None)


def aiokafka_config(settings: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for aiokafka's AIOKafkaProducer / AIOKafkaConsumer / AIOKafkaAdminClient."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return {}
    username, password = _credentials(settings)
    config: dict[str, Any] = {
        "security_protocol": settings.kafka_security_protocol,
        "sasl_mechanism": MECHANISM,
        "sasl_plain_username": username,
        "sasl_plain_password": password,
    }
    if (context := ssl_context(settings)) is not None:
        config["ssl_context"] = context
    return config


def kafka_python_config(settings: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for kafka-python's KafkaAdminClient / KafkaConsumer / KafkaProducer."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return {}
    username, password = _credentials(settings)
    config: dict[str, Any] = {
        "security_protocol": settings.kafka_security_protocol,
        "sasl_mechanism": MECHANISM,
        "sasl_plain_username": username,
        "sasl_plain_password": password,
    }
    if settings.kafka_security_protocol == "SASL_SSL":
        config["ssl_check_hostname"] = True
        if settings.kafka_ssl_cafile:
            config["ssl_cafile"] = settings.kafka_ssl_cafile
    return config
