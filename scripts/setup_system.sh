#!/usr/bin/env bash
# Debian packages the browser test of the dashboards needs: headless Chromium, its WebDriver,
# and CJK fonts so Chinese titles render. Idempotent: does nothing when all are installed.
set -euo pipefail
packages=(chromium chromium-driver fonts-noto-cjk)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "[setup] missing Debian packages: ${missing[*]}; install them as root:" >&2
  echo "        apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "[setup] installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q "${missing[@]}"
