#!/bin/sh
# One-shot before the broker's first start (the `kafka-format` step of docker-compose.yml): formats the KRaft
# storage with the admin principal's SCRAM-SHA-512 credential. SCRAM credentials live in the metadata log, so
# the first one must be written with the storage, before the broker can check any. Later starts: nothing to do.
# Each node of profile ha formats its own volume with its KAFKA_NODE_ID and the three voters.
# Works with apache/kafka and the local stand-in alike (both have /opt/kafka/bin/kafka-storage.sh).
set -eu
data=/var/lib/kafka/data
if [ -f "$data/meta.properties" ]; then
    echo "storage already formatted"
    exit 0
fi
: "${CLUSTER_ID:?}" "${KAFKA_ADMIN_USER:?}" "${KAFKA_ADMIN_PASSWORD:?}"
conf="$(mktemp)"
cat > "$conf" <<PROPERTIES
process.roles=broker,controller
node.id=${KAFKA_NODE_ID:-1}
controller.quorum.voters=${KAFKA_CONTROLLER_QUORUM_VOTERS:-1@kafka:9093}
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data
PROPERTIES
/opt/kafka/bin/kafka-storage.sh format --cluster-id="$CLUSTER_ID" --config "$conf" --ignore-formatted \
    --add-scram "SCRAM-SHA-512=[name=$KAFKA_ADMIN_USER,password=$KAFKA_ADMIN_PASSWORD]" > /dev/null
rm -f "$conf"
echo "storage formatted with the credential of $KAFKA_ADMIN_USER"
