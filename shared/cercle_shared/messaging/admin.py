"""Topic creation with kafka-python's admin client, from the one list in contracts.topics."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from ..contracts.base import TopicSpec
from ..contracts.topics import ALL_TOPICS
from ..settings import KafkaSettings
from .security import kafka_python_config

log = logging.getLogger(__name__)


def ensure_topics(
    bootstrap: str,
    topics: Iterable[TopicSpec] = ALL_TOPICS,
    *,
    replication_factor: int = 1,
    timeout: float = 60.0,
    security: KafkaSettings | None = None,
) -> list[str]:
    """Create the topics that do not exist yet and bring the configuration of the others up to the contracts'
    (a bound on compaction may tighten after a topic was created); return the names created.
    Retries while the broker warms up. `security`: how to authenticate (the admin principal on a secured broker)."""
    client_config: dict[str, Any] = kafka_python_config(security) if security is not None else {}
    deadline = time.monotonic() + timeout
    wanted = {t.name: t for t in topics}
    while True:
        admin = None
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap, client_id="cercle-topics", request_timeout_ms=10000, **client_config
            )
            missing = [t for name, t in wanted.items() if name not in set(admin.list_topics())]
            if missing:
                admin.create_topics(
                    [
                        NewTopic(
                            t.name,
                            num_partitions=t.partitions,
                            replication_factor=replication_factor,
                            topic_configs=t.config(),
                        )
                        for t in missing
                    ]
                )
            existing = [t for t in wanted.values() if t not in missing and t.config()]
            if existing:
                admin.alter_configs(
                    [ConfigResource(ConfigResourceType.TOPIC, t.name, configs=t.config()) for t in existing]
                )
            return [t.name for t in missing]
        except TopicAlreadyExistsError:
            return []
        except (KafkaError, OSError) as exc:
            if time.monotonic() > deadline:
                raise
            log.info("topics: broker not ready yet (%s); retrying", exc)
            time.sleep(0.5)
        finally:
            if admin is not None:
                admin.close()


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(
        description="Create Cercle's Kafka topics (idempotent). On a secured broker, authenticate as the admin "
        "principal with CERCLE_KAFKA_SECURITY_PROTOCOL, CERCLE_KAFKA_SASL_USERNAME and CERCLE_KAFKA_SASL_PASSWORD."
    )
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--replication-factor", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    created = ensure_topics(
        args.bootstrap, replication_factor=args.replication_factor, timeout=args.timeout, security=KafkaSettings()
    )
    print(f"topics ready ({len(ALL_TOPICS)} in all, {len(created)} created)")


if __name__ == "__main__":
    main()
