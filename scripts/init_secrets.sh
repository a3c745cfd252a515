#!/usr/bin/env bash
# Creates per-installation secrets for the local environment, once, in a git-ignored file.
# Production never uses this file: it sets the same variables in the environment.
set -euo pipefail
file="${1:-.local/secrets.env}"
if [[ -s "$file" ]]; then exit 0; fi
mkdir -p "$(dirname "$file")"
umask 077
rand() { python3 -c 'import secrets; print(secrets.token_urlsafe(32))'; }
cat > "$file" <<EOT
# Per-installation secrets of this checkout, created $(date -u +%F) by scripts/init_secrets.sh.
# Keep private. Environment variables of the same name take precedence.
LAKEHOUSE_PSEUDONYM_KEY=$(rand)
SUPERSET_SECRET_KEY=$(rand)
SUPERSET_ADMIN_USER=admin
SUPERSET_ADMIN_PASSWORD=$(rand)
AIRFLOW_ADMIN_USER=admin
AIRFLOW_ADMIN_PASSWORD=$(rand)
EOT
echo "created per-installation secrets in $file (git-ignored; reused from now on)" >&2
