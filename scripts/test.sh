#!/usr/bin/env bash
# `npm test`: a supported Node (fetched when the machine's is older), the npm packages, the build
# (the end-to-end tests run the services' compiled JavaScript, as npm start does), then every
# test project, or those named (npm test -- --project unit). Other arguments go to vitest
# (npm test -- order-details-service).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/node-runtime.sh
source scripts/node-runtime.sh
ecosystem_prepare
projects=(--project unit --project integration --project e2e --project lifecycle --project cluster)
case " $* " in *" --project"*) projects=() ;; esac
exec node node_modules/vitest/vitest.mjs run "${projects[@]}" "$@"
