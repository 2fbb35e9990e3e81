#!/usr/bin/env bash
# Stops the PostgreSQL clusters tests start under target/ (they are reused between runs
# while running, and stopped here so nothing is left behind).
set -u
cd "$(dirname "$0")/.."
for dir in target/test-pg/pgdata target/e2e/data/pgdata; do
  [ -f "$dir/postmaster.pid" ] || continue
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u bearing-pg -- "$bin/pg_ctl" stop -m fast -D "$dir" >/dev/null 2>&1 || true
  else
    "$bin/pg_ctl" stop -m fast -D "$dir" >/dev/null 2>&1 || true
  fi
done
