#!/bin/bash
# java -cp '/opt/kafka/libs/*' CLASS ARGS..., with apache/kafka's variables for JVM options.
set -euo pipefail
class="$1"
shift
if [ "$class" = kafka.Kafka ]; then
    heap="${KAFKA_HEAP_OPTS:--Xms512m -Xmx512m}"
else
    heap="-Xmx256m -XX:TieredStopAtLevel=1"   # short-lived tools: start fast
fi
# shellcheck disable=SC2086  # the option variables hold several words on purpose
exec java $heap ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -Djava.awt.headless=true} ${KAFKA_OPTS:-} \
    -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -cp '/opt/kafka/libs/*' "$class" "$@"
