#!/usr/bin/env bash
# `npm start`: installs the npm packages when they are missing or stale, then runs the system.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm packages..."
  npm ci --no-audit --no-fund
fi
# node itself runs the supervisor (not a tsx wrapper process): its pid is the one `npm run stop` signals.
exec node --import tsx scripts/start.ts "$@"
