#!/usr/bin/env bash
# Main virtualenv, cached outside the clone and keyed by the lock file's hash, so a clean
# clone (CI) reuses it. `.venv` in the clone links to it. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${LAKEHOUSE_CACHE:-$HOME/.cache/lakehouse}"
key=$(cat requirements/main.lock | sha256sum | cut -c1-12)
venv="$cache/venvs/main-$key"
if [[ ! -x "$venv/bin/python" || ! -f "$venv/.complete" ]]; then
  echo "[setup] creating Python virtualenv $venv (first time: a few minutes)" >&2
  rm -rf "$venv"; mkdir -p "$cache/venvs"
  python3.11 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r requirements/main.lock
  touch "$venv/.complete"
fi
# The project itself, editable, pointing at this clone (re-pointed when the clone moves).
if [[ "$(cat "$venv/.project" 2>/dev/null)" != "$PWD" ]]; then
  "$venv/bin/pip" install -q --no-deps -e . >/dev/null
  echo "$PWD" > "$venv/.project"
fi
ln -sfn "$venv" .venv
