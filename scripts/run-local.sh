#!/usr/bin/env bash
# Starts the whole portal locally: the development identity provider (devidp/, port 4010), the
# Kuma control-plane simulator (kuma-sim, port 5681) and Bearing (port 3000) with its embedded
# PostgreSQL and the demo catalog. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

say "starting the development identity provider at http://127.0.0.1:4010"
node devidp/server.mjs &
idp=$!
trap 'kill $idp 2>/dev/null || true' EXIT

export BEARING_OIDC_ISSUER="${BEARING_OIDC_ISSUER:-http://127.0.0.1:4010}"
export BEARING_OIDC_CLIENT_ID="${BEARING_OIDC_CLIENT_ID:-bearing-dev}"
export BEARING_OIDC_CLIENT_SECRET="${BEARING_OIDC_CLIENT_SECRET:-bearing-dev-secret}"
export BEARING_DEV_USERS="${BEARING_DEV_USERS:-devidp/users.json}"
# The demo users' groups grant roles only through this mapping (Bearing has no built-in one).
export BEARING_ROLE_MAPPING_FILE="${BEARING_ROLE_MAPPING_FILE:-devidp/role-mappings.toml}"
# The devidp machine client luigi-orders may report orders-etl's runs with client credentials.
export BEARING_PRODUCER_CLIENTS="${BEARING_PRODUCER_CLIENTS:-devidp/producer-clients.toml}"
export BEARING_KUMA_URL="${BEARING_KUMA_URL:-http://127.0.0.1:5681}"
export BEARING_POLICY_TEMPLATES="${BEARING_POLICY_TEMPLATES:-policy-templates}"
export BEARING_SCORECARDS="${BEARING_SCORECARDS:-scorecards}"
export BEARING_PUBLIC_URL="${BEARING_PUBLIC_URL:-http://127.0.0.1:3000}"

say "starting kuma-sim at $BEARING_KUMA_URL"
target/release/kuma-sim &
KUMA_SIM_PID=$!
trap 'kill "$KUMA_SIM_PID" $idp 2>/dev/null || true' EXIT

say "starting Bearing at $BEARING_PUBLIC_URL (Ctrl-C stops it, its PostgreSQL, kuma-sim and the identity provider)"
say "sign in as one of the demo users listed on the login page (password: bearing)"
target/release/bearing serve --seed-catalog examples
