"""A real broker secured as production runs it: SCRAM-SHA-512, the StandardAuthorizer, no ACL means no access,
the services' principals and ACLs from `cercle-ops broker bootstrap`, and a SASL_SSL listener for partners."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from cercle_ops import broker, tls
from cercle_shared.contracts import access
from cercle_shared.contracts.topics import SERVICES
from cercle_shared.settings import KafkaSettings
from devtools.kafka import LocalKafka, Secured
from devtools.ports import LOOPBACK, free_port


@dataclass(frozen=True)
class SecuredBroker:
    node: LocalKafka
    admin_password: str
    passwords: dict[str, str]  # service -> its principal's password
    tls_port: int
    tls_files: tls.TlsFiles

    @property
    def bootstrap(self) -> str:
        return self.node.bootstrap

    @property
    def tls_bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.tls_port}"

    def settings(self, username: str, password: str, **overrides: Any) -> KafkaSettings:
        return KafkaSettings(
            kafka_bootstrap=self.bootstrap,
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_username=username,
            kafka_sasl_password=password,
            **overrides,
        )

    @property
    def admin(self) -> KafkaSettings:
        return self.settings(access.ADMIN_USER, self.admin_password)

    def service(self, service: str) -> KafkaSettings:
        return self.settings(access.service_user(service), self.passwords[service])

    def service_overrides(self, service: str) -> dict[str, Any]:
        """Settings a service runs with on this broker: its own principal and its own consumer group."""
        return {
            "kafka_security_protocol": "SASL_PLAINTEXT",
            "kafka_sasl_username": access.service_user(service),
            "kafka_sasl_password": self.passwords[service],
            "consumer_group": access.consumer_group(service),
        }


@pytest.fixture(scope="session")
def secured_kafka(tmp_path_factory) -> Iterator[SecuredBroker]:
    directory = tmp_path_factory.mktemp("secured-kafka")
    tls_files = tls.init(directory / "tls", ["localhost", LOOPBACK])
    tls_port = free_port()
    admin_password = secrets.token_hex(16)
    node = LocalKafka(
        directory / "node",
        secured=Secured(admin_password=admin_password, tls_port=tls_port, tls_keystore=tls_files.keystore),
    )
    with node:
        passwords = {service: secrets.token_hex(16) for service in SERVICES}
        secured = SecuredBroker(node, admin_password, passwords, tls_port, tls_files)
        broker.bootstrap(secured.admin, passwords)
        yield secured
