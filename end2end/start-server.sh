#!/usr/bin/env bash
# Starts a fresh Bearing for the end-to-end tests (Playwright's webServer runs this from
# end2end/): a new embedded PostgreSQL under ../target/e2e, seeded with the demo catalog in
# ../examples, serving the site cargo-leptos built into ../target/site. Sign-in settings
# (BEARING_OIDC_*, BEARING_PUBLIC_URL, BEARING_DEV_USERS) come from the environment that
# playwright.config.ts sets; relative paths there are relative to end2end/.
set -euo pipefail
cd "$(dirname "$0")"

data=../target/e2e/data
bin=../target/debug/bearing

if [ ! -x "$bin" ] || [ ! -d ../target/site/pkg ]; then
  echo "start-server.sh: $bin or ../target/site/pkg is missing; build first with 'cargo leptos build'" >&2
  exit 1
fi

# Stop a PostgreSQL left running by an earlier run that did not shut down cleanly.
if [ -f "$data/pgdata/postmaster.pid" ]; then
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -n "$pg_bin" ]; then
    if [ "$(id -u)" -eq 0 ]; then
      runuser -u bearing-pg -- "$pg_bin/pg_ctl" stop -m fast -D "$data/pgdata" >/dev/null 2>&1 || true
    else
      "$pg_bin/pg_ctl" stop -m fast -D "$data/pgdata" >/dev/null 2>&1 || true
    fi
  fi
fi
rm -rf ../target/e2e

exec "$bin" serve \
  --listen 127.0.0.1:3100 \
  --data-dir "$data" \
  --seed-catalog ../examples \
  --site-root ../target/site
