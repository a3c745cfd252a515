#!/usr/bin/env bash
# Python for this clone. The dependencies live in one virtualenv cached outside the clone, keyed
# by the lock file's hash, so a clean clone (CI) reuses it; it never holds the project itself.
# `.venv` is this clone's own small environment: its site-packages points at the shared
# dependencies and at this clone, and `.venv/bin/lakehouse` runs this clone's code — whichever
# clone set up the shared environment last. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${LAKEHOUSE_CACHE:-$HOME/.cache/lakehouse}"
key=$(cat requirements/main.lock | sha256sum | cut -c1-12)
shared="$cache/venvs/main-$key"
if [[ ! -x "$shared/bin/python" || ! -f "$shared/.complete" ]]; then
  echo "[setup] creating Python virtualenv $shared (first time: a few minutes)" >&2
  rm -rf "$shared"; mkdir -p "$cache/venvs"
  python3.11 -m venv "$shared"
  "$shared/bin/pip" install -q --upgrade pip
  "$shared/bin/pip" install -q -r requirements/main.lock
  touch "$shared/.complete"
fi
# Earlier setups installed the project (editable) into the shared environment: its import hook
# would hand one clone's code to another. Remove it once.
if [[ -f "$shared/.project" ]]; then
  "$shared/bin/pip" uninstall -q -y renshe-lakehouse >/dev/null 2>&1 || true
  rm -f "$shared/.project"
fi
here="$PWD"
site_of() { "$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
if [[ -L .venv || ! -x .venv/bin/python || "$(cat .venv/.shared 2>/dev/null)" != "$shared" \
      || "$(cat .venv/.clone 2>/dev/null)" != "$here" ]]; then
  rm -rf .venv
  python3.11 -m venv --without-pip .venv
  # this clone first, then the shared dependencies (with their own .pth files processed)
  printf '%s\nimport site; site.addsitedir(%s)\n' "$here" "'$(site_of "$shared")'" \
    > "$(site_of .venv)/lakehouse-clone.pth"
  cat > .venv/bin/lakehouse <<EOF
#!$here/.venv/bin/python
import sys
from lakehouse.cli import main
sys.exit(main())
EOF
  chmod +x .venv/bin/lakehouse
  for tool in ruff mypy sqlfluff; do ln -sfn "$shared/bin/$tool" ".venv/bin/$tool"; done
  echo "$shared" > .venv/.shared
  echo "$here" > .venv/.clone
fi
