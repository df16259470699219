"""Topic creation with kafka-python's admin client, from the one list in contracts.topics.

Replication comes from the settings (KafkaSettings.kafka_replication_factor and kafka_min_insync_replicas): 1/1 on
a developer's single broker, 3/2 on a three-broker cluster, where a topic keeps taking writes (acks=all) with one
broker lost and no acknowledged record lives on one broker only."""

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
    replication_factor: int | None = None,
    min_insync_replicas: int | None = None,
    timeout: float = 60.0,
    security: KafkaSettings | None = None,
) -> list[str]:
    """Create the topics that do not exist yet and bring the configuration of the others up to the contracts'
    (a bound on compaction may tighten after a topic was created); return the names created.
    Retries while the broker warms up (and, on a cluster, until enough brokers are up for the replicas).
    `security`: how to authenticate (the admin principal on a secured broker); the replication factor and
    min.insync.replicas default to its values (1 and 1 without settings). An existing topic keeps its number of
    replicas (changing it is a partition reassignment, an operator's decision) but takes the min.insync.replicas."""
    client_config: dict[str, Any] = kafka_python_config(security) if security is not None else {}
    if replication_factor is None:
        replication_factor = security.kafka_replication_factor if security is not None else 1
    if min_insync_replicas is None:
        min_insync_replicas = security.kafka_min_insync_replicas if security is not None else 1
    if not 1 <= min_insync_replicas <= replication_factor:
        # More than the replicas would refuse every write made with acks=all.
        raise ValueError(
            f"min.insync.replicas ({min_insync_replicas}) must be between 1 and the replication factor "
            f"({replication_factor})"
        )

    def config(topic: TopicSpec) -> dict[str, str]:
        return {**topic.config(), "min.insync.replicas": str(min_insync_replicas)}

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
                            topic_configs=config(t),
                        )
                        for t in missing
                    ]
                )
            existing = [t for t in wanted.values() if t not in missing]
            if existing:
                # Not incremental: the set given replaces the topic's own settings, so it is always the whole set.
                admin.alter_configs(
                    [ConfigResource(ConfigResourceType.TOPIC, t.name, configs=config(t)) for t in existing]
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
    settings = KafkaSettings()
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument(
        "--replication-factor",
        type=int,
        default=settings.kafka_replication_factor,
        help="replicas of each new topic (default: CERCLE_KAFKA_REPLICATION_FACTOR, 1)",
    )
    parser.add_argument(
        "--min-insync-replicas",
        type=int,
        default=settings.kafka_min_insync_replicas,
        help="min.insync.replicas of each topic (default: CERCLE_KAFKA_MIN_INSYNC_REPLICAS, 1)",
    )
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    created = ensure_topics(
        args.bootstrap,
        replication_factor=args.replication_factor,
        min_insync_replicas=args.min_insync_replicas,
        timeout=args.timeout,
        security=settings,
    )
    print(
        f"topics ready ({len(ALL_TOPICS)} in all, {len(created)} created; replication factor "
        f"{args.replication_factor}, min.insync.replicas {args.min_insync_replicas})"
    )


if __name__ == "__main__":
    main()
