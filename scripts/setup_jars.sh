#!/usr/bin/env bash
# Delta Lake jars for Spark, resolved from Maven Central with mvn into the cache and
# given to Spark as local files (spark.jars). Only delta-spark and delta-storage are
# taken: everything else their POMs name is already inside pyspark.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${LAKEHOUSE_CACHE:-$HOME/.cache/lakehouse}"
version=$(sed -n 's:.*<delta.version>\(.*\)</delta.version>.*:\1:p' scripts/delta-jars.pom.xml)
dest="$cache/jars/delta-$version"
if [[ -f "$dest/.complete" ]]; then exit 0; fi
echo "[setup] resolving Delta $version jars with mvn into $dest" >&2
rm -rf "$dest"; mkdir -p "$dest"
mvn -q -B -f scripts/delta-jars.pom.xml dependency:copy-dependencies \
  -DincludeScope=runtime -DexcludeTransitive=true -DoutputDirectory="$dest"
touch "$dest/.complete"
