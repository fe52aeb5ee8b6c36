#!/bin/sh
# Installs the interop client's npm packages into DIR exactly as package-lock.json pins them
# (npm ci), once: a later run with the same lock file finds them installed and does nothing,
# so it also works offline. Exits 77 (CTest: skipped) with the reason when npm is missing.
#   test/interop/npm_ci.sh DIR     (DIR holds copies of package.json and package-lock.json)
set -eu
dir="${1:?usage: npm_ci.sh DIR}"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "SKIPPED: node or npm is not on PATH (scripts/setup.sh installs Debian's nodejs and npm)"
  exit 77
fi
cd "$dir"
stamp=node_modules/.meterchain-lock.json
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
  echo "npm packages already installed as package-lock.json pins them ($dir/node_modules)"
  exit 0
fi
echo "npm ci in $dir (node $(node --version), npm $(npm --version))"
# No package of the client needs an install script.
npm ci --ignore-scripts --no-audit --no-fund
cp package-lock.json "$stamp"
