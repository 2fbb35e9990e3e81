#!/usr/bin/env bash
# Fuzzes everything Bearing parses from outside, one target after another, for a fixed time each.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default: 60 seconds, every target)
#
# Targets (fuzz/fuzz_targets/): catalog_yaml, compass, kuma_model, envoy_stats; see fuzz/README.md.
# Fails (exit 1) when any target crashes (a panic, a broken invariant, a stack overflow), takes
# longer than FUZZ_TIMEOUT seconds on one input, or grows past FUZZ_RSS_MB of memory; the
# reproducer's path and the command to replay it are printed at the end.
#
# Environment:
#   FUZZ_TIMEOUT   seconds one input may take (default 10)
#   FUZZ_RSS_MB    memory limit in MB, for the process and for a single allocation (default 2048)
#   FUZZ_MAX_LEN   largest input libFuzzer generates, in bytes (default 16384)
#   BEARING_SHARED the shared fixtures (default: ../shared next to the checkout)
#
# Needs the nightly toolchain and cargo-fuzz; both are installed when missing. Not part of
# `make test`: it takes minutes and its results depend on luck.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DURATION="${1:-60}"
shift || true
TIMEOUT="${FUZZ_TIMEOUT:-10}"
RSS_MB="${FUZZ_RSS_MB:-2048}"
MAX_LEN="${FUZZ_MAX_LEN:-16384}"
SHARED="${BEARING_SHARED:-$ROOT/../shared}"
ALL_TARGETS=(catalog_yaml compass kuma_model envoy_stats)
TARGETS=("${@:-${ALL_TARGETS[@]}}")

case "$DURATION" in
'' | *[!0-9]*)
    echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]  (SECONDS must be a whole number)" >&2
    exit 2
    ;;
esac

# cargo-fuzz builds into fuzz/target; a CARGO_TARGET_DIR from the environment would mix its
# sanitizer-instrumented nightly build into another directory.
unset CARGO_TARGET_DIR

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "==> installing the nightly toolchain (cargo-fuzz needs it)"
    rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install cargo-fuzz
fi

# Copies the files found under DIR (matching NAME globs) into the target's corpus, named after
# where they came from; files already there are kept, so the corpus grows from run to run.
seed() {
    local target="$1" dir="$2"
    shift 2
    local corpus="$ROOT/fuzz/corpus/$target"
    mkdir -p "$corpus"
    if [ ! -d "$dir" ]; then
        echo "    (no seeds from $dir: not found)"
        return
    fi
    local args=() first=1 pattern
    for pattern in "$@"; do
        [ "$first" = 1 ] || args+=(-o)
        args+=(-name "$pattern")
        first=0
    done
    find "$dir" -type f \( "${args[@]}" \) -not -path '*/node_modules/*' -print0 |
        while IFS= read -r -d '' file; do
            local name="seed-${file#"$dir"/}"
            cp -n "$file" "$corpus/${name//\//_}"
        done
}

seed_corpus() {
    case "$1" in
    catalog_yaml)
        seed "$1" "$ROOT/examples" '*.yaml'
        seed "$1" "$SHARED/testdata/backstage-examples" '*.yaml' '*.yml'
        ;;
    compass)
        seed "$1" "$ROOT/examples/compass" 'compass.yml' 'compass.yaml'
        ;;
    kuma_model)
        seed "$1" "$SHARED/kuma/fixtures" '*.json'
        ;;
    envoy_stats)
        seed "$1" "$SHARED/kuma/fixtures" 'envoy-stats.txt' 'inspect_stats_dataplane.*'
        ;;
    esac
    seed "$1" "$ROOT/fuzz/seeds/$1" '*'
}

dict_for() {
    case "$1" in
    catalog_yaml | compass) echo "$ROOT/fuzz/dicts/yaml.dict" ;;
    kuma_model) echo "$ROOT/fuzz/dicts/json.dict" ;;
    envoy_stats) echo "$ROOT/fuzz/dicts/envoy.dict" ;;
    esac
}

cd "$ROOT"
echo "==> building the fuzz targets (nightly, AddressSanitizer, debug assertions)"
cargo +nightly fuzz build

mkdir -p "$ROOT/fuzz/logs"
failed=()
summary=()
for target in "${TARGETS[@]}"; do
    if [[ ! " ${ALL_TARGETS[*]} " == *" $target "* ]]; then
        echo "unknown target $target; targets: ${ALL_TARGETS[*]}" >&2
        exit 2
    fi
    echo "==> $target: seeding fuzz/corpus/$target"
    seed_corpus "$target"
    log="$ROOT/fuzz/logs/$target.log"
    echo "==> $target: fuzzing for ${DURATION}s (timeout ${TIMEOUT}s per input, ${RSS_MB} MB, inputs up to ${MAX_LEN} bytes); log: fuzz/logs/$target.log"
    status=0
    cargo +nightly fuzz run "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$DURATION" -timeout="$TIMEOUT" \
        -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$RSS_MB" -max_len="$MAX_LEN" \
        -dict="$(dict_for "$target")" -print_final_stats=1 >"$log" 2>&1 || status=$?
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n1)"
    peak="$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n1)"
    if [ -z "$runs" ]; then
        runs="$(grep -o '^#[0-9]*' "$log" | tail -n1 | tr -d '#')"
    fi
    if [ "$status" -eq 0 ]; then
        summary+=("$target: clean, ${runs:-?} runs, peak ${peak:-?} MB")
        continue
    fi
    kind="$(grep -o -m1 -E 'ERROR: libFuzzer: [a-z -]+|panicked at [^:]*:[0-9]+' "$log" || true)"
    artifact="$(grep -o -m1 -E "(Test unit written to|artifact_prefix='[^']*'; Test unit written to) [^ ]*" "$log" | awk '{print $NF}' || true)"
    failed+=("$target")
    summary+=("$target: FAILED after ${runs:-?} runs (${kind:-exit status $status}); reproducer: ${artifact:-see log}")
    echo "    FAILED: ${kind:-exit status $status}"
    echo "    reproduce: cargo +nightly fuzz run $target ${artifact:-<artifact>}"
    grep -m1 -A3 -E 'panicked at|ERROR: libFuzzer' "$log" | sed 's/^/    | /' || true
done

echo
echo "==> fuzzing summary (${DURATION}s per target)"
printf '    %s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "==> ${#failed[@]} target(s) failed: ${failed[*]}; full output in fuzz/logs/" >&2
    exit 1
fi
