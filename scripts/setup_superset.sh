#!/usr/bin/env bash
# Superset's own virtualenv (its pins conflict with Airflow's), cached outside the clone and
# keyed by the hash of requirements/superset.lock, so clean clones (CI) reuse it. Idempotent.
# lakehouse/services/superset.py finds it by the same key.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${LAKEHOUSE_CACHE:-$HOME/.cache/lakehouse}"
key=$(sha256sum < requirements/superset.lock | cut -c1-12)
venv="$cache/venvs/superset-$key"
if [[ -x "$venv/bin/superset" && -f "$venv/.complete" ]]; then
  exit 0
fi
echo "[setup] creating Superset virtualenv $venv (first time: about a minute)" >&2
start=$(date +%s)
rm -rf "$venv"; mkdir -p "$cache/venvs"
python3.11 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
# The lock is a complete `pip freeze` of a measured-to-boot install; the constraints carry
# the two fixes apache-superset 6.1.0 needs (rich, Flask-Caching<2.4).
"$venv/bin/pip" install -q -r requirements/superset.lock -c requirements/superset-constraints.txt
"$venv/bin/python" -c "import superset, rich, flask_caching, cachetools, gunicorn, trino.sqlalchemy" || {
  echo "[setup] the Superset virtualenv was installed but does not import" >&2; exit 1; }
touch "$venv/.complete"
echo "[setup] Superset virtualenv ready in $(( $(date +%s) - start )) s" >&2
