#!/usr/bin/env bash
# Builds Bearing's container image (Containerfile) with buildah, offline, from this checkout:
# a static musl `bearing` binary and the release site, in an image with nothing else.
#
#   scripts/build-image.sh [TAG]     TAG defaults to bearing:<short commit>
#
# Installs what is missing (the musl target, musl-tools for the C in ring and mimalloc,
# buildah, and what scripts/setup.sh installs), checks that the binary is statically linked,
# and runs it from the image once. About 45 minutes from nothing on 2 busy cores (measured:
# the musl release build 32-44 min, the site 9 min). Then push it
# where the cluster pulls from: buildah push TAG docker://registry.example.com/bearing:VERSION
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
TARGET=x86_64-unknown-linux-musl
TARGET_DIR=${CARGO_TARGET_DIR:-target}
TAG=${1:-bearing:$(git rev-parse --short HEAD)}

if ! rustup target list --installed | grep -qx "$TARGET"; then
  say "adding Rust target $TARGET"
  rustup target add "$TARGET"
fi
apt_missing=()
command -v musl-gcc >/dev/null || apt_missing+=(musl-tools)
command -v buildah >/dev/null || apt_missing+=(buildah)
if [ ${#apt_missing[@]} -gt 0 ]; then
  say "installing from apt: ${apt_missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_missing[@]}"
fi
# cargo-leptos, wasm-bindgen-cli, and the npm tools: Tailwind, binaryen, and Swagger UI,
# which the server embeds for /api/docs.
scripts/setup.sh

say "building the site (release wasm, JS, CSS)"
cargo leptos build --release --frontend-only
# cargo-leptos writes the site under the workspace's target/, whatever CARGO_TARGET_DIR says.
site=target/site
[ -f "$site/pkg/bearing.wasm" ] || { echo "no $site/pkg/bearing.wasm after the site build" >&2; exit 1; }

say "building the server for $TARGET (static)"
# The same features as `cargo leptos build --release` (bin-features is empty; the server
# crate turns on app/ssr itself), and the variable cargo-leptos would set: leptos compiles
# the site's file names in, and without it pages load pkg/bearing_bg.wasm, which the site does
# not have, and never hydrate. ("bearing" is the project's name in Cargo.toml's leptos metadata.)
LEPTOS_OUTPUT_NAME=bearing cargo build --release --locked --target "$TARGET" -p server --bin bearing
bin=$TARGET_DIR/$TARGET/release/bearing
# Cargo does not rebuild registry crates when a variable changes: a leptos built here before
# without it stays so. leptos_config then complains at start, before touching the database.
if env -i "$bin" serve --database-url postgresql://127.0.0.1:1/none 2>&1 | grep -q "without the LEPTOS_OUTPUT_NAME"; then
  echo "$bin was built without LEPTOS_OUTPUT_NAME; run" >&2
  echo "  cargo clean --release --target $TARGET -p leptos -p leptos_config" >&2
  echo "and this script again" >&2
  exit 1
fi

# A scratch image has no dynamic loader and no libc: refuse a binary that would need one.
if readelf -lW "$bin" | grep -q 'program interpreter' || readelf -dW "$bin" | grep -q '(NEEDED)'; then
  echo "$bin is dynamically linked:" >&2
  readelf -dW "$bin" | grep '(NEEDED)' >&2 || true
  exit 1
fi
say "static: $(file -b "$bin" 2>/dev/null || echo "no program interpreter, no shared libraries"), $(du -h "$bin" | cut -f1)"
"$bin" --version

say "building the image $TAG"
context=$(mktemp -d)
container=""
trap 'rm -rf "$context"; [ -z "$container" ] || buildah rm "$container" >/dev/null' EXIT
# Without its symbol table (117 MB -> 69 MB): a panic still logs its message and location.
strip -o "$context/bearing" "$bin"
cp -r "$site" "$context/site"
buildah bud --quiet --file Containerfile --tag "$TAG" "$context" >/dev/null

say "running $TAG once"
container=$(buildah from "$TAG")
# chroot isolation: no OCI runtime, so it also works where crun cannot set up cgroups (a
# machine with cgroups v1 and v2 mounted together); enough to run --version.
buildah run --isolation chroot "$container" -- /bearing --version
buildah images --format '{{.Name}}:{{.Tag}} {{.Size}}' "$TAG"
