#!/usr/bin/env bash
# Kuma poll benchmark: one poll cycle over a simulated control plane with 5,000 proxies and 1,000
# services, and the Envoy-stats rate computation. Writes bench/results/kuma-poll.json; asserts
# nothing about the figures (targets: a cycle under 2 s, memory growth under 50 MB).
#
#   bench/kuma-poll.sh            # PROXIES=5000 SERVICES=1000 CYCLES=10 by default
#
# See server/benches/kuma_poll.rs for what is timed.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> building kuma-sim (release)"
cargo build --release -p kuma-sim
echo "==> running the poll benchmark"
KUMA_SIM_BIN="$PWD/target/release/kuma-sim" cargo bench -p server --features app/ssr --bench kuma_poll
