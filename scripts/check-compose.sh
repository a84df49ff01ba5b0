#!/usr/bin/env bash
# Validates compose.yaml with whichever Compose implementation is installed (`docker compose`,
# `podman compose`, or the standalone `docker-compose`): schema, merge keys, interpolation.
# `npm test` checks its structure (test/ship/compose.test.ts); this checks it as Compose reads it.
set -euo pipefail
cd "$(dirname "$0")/.."
export POSTGRES_PASSWORD=${POSTGRES_PASSWORD:-check-only}

# (An old podman without `compose` answers `podman compose --help` with its own help.)
if docker compose version >/dev/null 2>&1; then compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then compose=(docker-compose)
elif podman compose --help 2>/dev/null | grep -qi 'compose workloads'; then compose=(podman compose)
else echo "no Compose implementation found (docker compose, podman compose or docker-compose)"; exit 1
fi
echo "$("${compose[@]}" version 2>/dev/null | head -n1)"
"${compose[@]}" -f compose.yaml config -q
echo "compose.yaml is valid; services: $("${compose[@]}" -f compose.yaml config --services | tr '\n' ' ')"
