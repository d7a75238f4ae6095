#!/usr/bin/env bash
# `npm start`: installs the npm packages when they are missing or stale, then runs the system.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm packages..."
  npm ci --no-audit --no-fund
fi
exec node_modules/.bin/tsx scripts/start.ts "$@"
