#!/usr/bin/env bash
# `npm start`: a supported Node (fetched when the machine's is older), the npm packages, the
# build, then the system (scripts/start.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/node-runtime.sh
source scripts/node-runtime.sh
ecosystem_prepare
# node itself runs the supervisor (no wrapper process): its pid is the one `npm run stop` signals.
exec node scripts/dist/start.js "$@"
