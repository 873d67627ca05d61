#!/usr/bin/env bash
# Fetch the local Kafka broker's classpath from Maven Central into deploy/kafka/libs.
# Same as deploy.kafka.local_kafka.ensure_jars(): skipped when libs/.fetched matches the pom's
# sha256; a changed pom gives a clean re-fetch. Usage: deploy/kafka/fetch-jars.sh [--force]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pom="$here/pom.xml"
libs="$here/libs"
marker="$libs/.fetched"
digest="$(sha256sum "$pom" | cut -d' ' -f1)"

if [[ "${1:-}" != "--force" && -f "$marker" && "$(cat "$marker")" == "$digest" ]] \
   && compgen -G "$libs/kafka_2.13-*.jar" >/dev/null; then
    echo "kafka jars present in $libs"
    exit 0
fi

command -v mvn >/dev/null || { echo "error: mvn (Maven) not found on PATH" >&2; exit 1; }

exec 9>"$here/.libs.lock"          # same lock file as ensure_jars()
flock 9
tmp="$here/.libs.tmp-$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mvn -B -q -Dstyle.color=never -f "$pom" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp"
compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || { echo "error: no kafka jar fetched" >&2; exit 1; }
echo "$digest" > "$tmp/.fetched"
rm -rf "$libs"
mv "$tmp" "$libs"
echo "fetched $(ls "$libs"/*.jar | wc -l) jars into $libs"
