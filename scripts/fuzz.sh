#!/usr/bin/env bash
# Fuzzes everything Bearing parses from outside, one target after another, for a fixed time each.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default: 60 seconds, every target)
#
# Targets (fuzz/fuzz_targets/): catalog_yaml, compass, kuma_model, envoy_stats; see fuzz/README.md.
# Fails (exit 1) when any target crashes (a panic, a broken invariant, a stack overflow), takes
# longer than FUZZ_TIMEOUT seconds on one input, or grows past FUZZ_RSS_MB of memory. Fuzzing goes
# on after a finding, so one run reports them all: each is saved under fuzz/artifacts/TARGET/ and
# printed with what went wrong and the command that replays it.
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
    artifacts="$ROOT/fuzz/artifacts/$target"
    mkdir -p "$artifacts"
    marker="$(mktemp)"
    echo "==> $target: fuzzing for ${DURATION}s (timeout ${TIMEOUT}s per input, ${RSS_MB} MB, inputs up to ${MAX_LEN} bytes); log: fuzz/logs/$target.log"
    # Fork mode with the ignore flags keeps fuzzing after a finding, so one run reports every
    # distinct crash, timeout and out-of-memory input (each saved under fuzz/artifacts/TARGET/),
    # not just the first one.
    status=0
    cargo +nightly fuzz run "$target" "fuzz/corpus/$target" -- \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -max_total_time="$DURATION" -timeout="$TIMEOUT" \
        -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$RSS_MB" -max_len="$MAX_LEN" \
        -dict="$(dict_for "$target")" >"$log" 2>&1 || status=$?
    runs="$(grep -o '^#[0-9]*' "$log" | tail -n1 | tr -d '#')"
    mapfile -t found < <(find "$artifacts" -maxdepth 1 -type f -newer "$marker" \
        \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | sort)
    rm -f "$marker"
    if [ "$status" -eq 0 ] && [ "${#found[@]}" -eq 0 ]; then
        summary+=("$target: clean, ${runs:-?} runs")
        continue
    fi
    failed+=("$target")
    summary+=("$target: FAILED, ${runs:-?} runs, ${#found[@]} finding(s)${found[*]:+ in fuzz/artifacts/$target/}")
    [ "${#found[@]}" -gt 0 ] || echo "    libFuzzer exited with status $status; see fuzz/logs/$target.log"
    # Fork mode keeps the details to itself: replay each finding once to say what it is.
    for artifact in "${found[@]}"; do
        replay="$ROOT/fuzz/logs/$target.$(basename "$artifact").log"
        cargo +nightly fuzz run "$target" "$artifact" -- -timeout="$TIMEOUT" \
            -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$RSS_MB" >"$replay" 2>&1 || true
        what="$(grep -m1 -A1 -E 'panicked at' "$replay" | tail -n1 || true)"
        [ -n "$what" ] || what="$(grep -m1 -o -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): .*' "$replay" || true)"
        what="${what:0:160}"
        echo "    FOUND ${what:-see $replay}"
        echo "      input:     ${artifact#"$ROOT"/}"
        echo "      reproduce: cargo +nightly fuzz run $target ${artifact#"$ROOT"/}"
    done
done

echo
echo "==> fuzzing summary (${DURATION}s per target)"
printf '    %s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "==> ${#failed[@]} target(s) failed: ${failed[*]}; full output in fuzz/logs/" >&2
    exit 1
fi
