"""Every Kafka client gets the same SCRAM settings from CERCLE_KAFKA_*; PLAINTEXT (the default) changes nothing."""

from __future__ import annotations

import pytest
from faststream.security import SASLScram512
from pydantic import ValidationError

from cercle_shared.messaging.security import aiokafka_config, faststream_security, kafka_python_config, ssl_context
from cercle_shared.settings import KafkaSettings


def test_the_default_is_plaintext_and_adds_nothing_to_any_client(monkeypatch):
    for name in ("SECURITY_PROTOCOL", "SASL_USERNAME", "SASL_PASSWORD", "SSL_CAFILE"):
        monkeypatch.delenv(f"CERCLE_KAFKA_{name}", raising=False)
    settings = KafkaSettings()
    assert settings.kafka_security_protocol == "PLAINTEXT"
    assert (faststream_security(settings), aiokafka_config(settings), kafka_python_config(settings)) == (None, {}, {})


def test_sasl_settings_come_from_the_environment_and_reach_every_client_library(monkeypatch):
    monkeypatch.setenv("CERCLE_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("CERCLE_KAFKA_SASL_USERNAME", "cercle-sessions")
    monkeypatch.setenv("CERCLE_KAFKA_SASL_PASSWORD", "s3cret-value")
    settings = KafkaSettings()
    security = faststream_security(settings)
    assert isinstance(security, SASLScram512)
    assert (security.username, security.password, security.use_ssl) == ("cercle-sessions", "s3cret-value", False)
    for config in (aiokafka_config(settings), kafka_python_config(settings)):
        assert config["security_protocol"] == "SASL_PLAINTEXT"
        assert config["sasl_mechanism"] == "SCRAM-SHA-512"
        assert (config["sasl_plain_username"], config["sasl_plain_password"]) == ("cercle-sessions", "s3cret-value")


def test_the_password_never_shows_in_the_settings_repr_or_dump():
    settings = KafkaSettings(
        kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="u", kafka_sasl_password="s3cret-value"
    )
    assert "s3cret-value" not in repr(settings)
    assert "s3cret-value" not in str(settings.model_dump())
    assert "s3cret-value" not in settings.model_dump_json()


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_a_sasl_protocol_without_credentials_is_refused_at_start(protocol):
    with pytest.raises(ValidationError, match="CERCLE_KAFKA_SASL_USERNAME"):
        KafkaSettings(kafka_security_protocol=protocol, kafka_sasl_username="u")


def test_an_unknown_protocol_is_refused():
    with pytest.raises(ValidationError):
        KafkaSettings(kafka_security_protocol="SSL")  # type: ignore[arg-type]


def test_sasl_ssl_verifies_the_broker_with_the_given_ca(tmp_path):
    from cercle_ops import tls

    files = tls.init(tmp_path, ["kafka"])
    settings = KafkaSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="partner-acme",
        kafka_sasl_password="pw",
        kafka_ssl_cafile=str(files.ca_cert),
    )
    context = ssl_context(settings)
    assert context is not None
    assert context.check_hostname
    assert len(context.get_ca_certs()) == 1
    assert faststream_security(settings).use_ssl  # type: ignore[union-attr]
    assert kafka_python_config(settings)["ssl_cafile"] == str(files.ca_cert)
    assert aiokafka_config(settings)["ssl_context"].check_hostname
