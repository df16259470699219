#!/bin/bash
# KAFKA_* variables -> server.properties, storage formatted once with CLUSTER_ID, then the broker in the foreground.
set -euo pipefail

conf=/opt/kafka/config/server.properties
: > "$conf"
for name in $(compgen -e | grep '^KAFKA_' || true); do
    case "$name" in
        KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_LOG4J_OPTS | KAFKA_JMX_OPTS | KAFKA_DEBUG)
            continue ;;
    esac
    key="${name#KAFKA_}"
    key="${key,,}"
    key="${key//___/-}"
    key="${key//__/%UNDERSCORE%}"
    key="${key//_/.}"
    key="${key//%UNDERSCORE%/_}"
    printf '%s=%s\n' "$key" "${!name}" >> "$conf"
done
grep -q '^log.dirs=' "$conf" || echo "log.dirs=/var/lib/kafka/data" >> "$conf"
log_dir="$(sed -n 's/^log.dirs=//p' "$conf" | cut -d, -f1)"

if [ ! -f "$log_dir/meta.properties" ]; then
    : "${CLUSTER_ID:?set CLUSTER_ID (22 characters, url-safe base64 of a UUID) to format the storage}"
    kafka-storage.sh format --cluster-id="$CLUSTER_ID" -c "$conf" --ignore-formatted
fi
exec kafka-run-class.sh kafka.Kafka "$conf"
