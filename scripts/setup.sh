#!/usr/bin/env bash
# Installs what building, running and testing Bearing needs, skipping what is already there
# at the right version. Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
CARGO_LEPTOS_VERSION=0.3.10
# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock 2>/dev/null || true)
WASM_BINDGEN_VERSION=${WASM_BINDGEN_VERSION:-0.2.130}
want_chromium=${WANT_CHROMIUM:-0}

apt_missing=()
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then apt_missing+=(postgresql); fi
if [ "$want_chromium" = 1 ] && ! command -v chromium >/dev/null; then apt_missing+=(chromium); fi
# The Luigi integration's tests make a venv: Debian's python3 needs python3-venv for that.
if [ "$want_chromium" = 1 ] && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then apt_missing+=(python3-venv); fi
# `make test-deploy` renders deploy/kubernetes with `kubectl kustomize` and reads it with PyYAML.
# Debian's own package is kubernetes-client (kubectl 1.20, kustomize v2, which the manifests
# are written for); a `kubectl` package, where an apt source has one, is newer.
if [ "$want_chromium" = 1 ] && ! command -v kubectl >/dev/null; then
  if apt-cache policy kubectl 2>/dev/null | grep -q 'Candidate: [0-9]'; then apt_missing+=(kubectl); else apt_missing+=(kubernetes-client); fi
fi
if [ "$want_chromium" = 1 ] && ! python3 -c 'import yaml' >/dev/null 2>&1; then apt_missing+=(python3-yaml); fi
if [ ${#apt_missing[@]} -gt 0 ]; then
  say "installing from apt: ${apt_missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_missing[@]}"
else
  say "apt packages present (PostgreSQL$([ "$want_chromium" = 1 ] && echo ', Chromium'))"
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding Rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
else
  say "Rust target wasm32-unknown-unknown present"
fi

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 25 minutes on 2 cores)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
else
  say "cargo-leptos $CARGO_LEPTOS_VERSION present"
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 4 minutes)"
  # Not --locked: its lock file names a crate version the registry no longer has.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
else
  say "wasm-bindgen-cli $WASM_BINDGEN_VERSION present"
fi

if [ ! -x node_modules/.bin/tailwindcss ] || [ ! -x node_modules/.bin/wasm-opt ] \
  || [ ! -f node_modules/swagger-ui-dist/swagger-ui-bundle.js ]; then
  say "installing npm build tools and assets (Tailwind CLI, binaryen, Swagger UI for /api/docs)"
  npm install --no-audit --no-fund
else
  say "npm build tools present"
fi

if [ ! -d devidp/node_modules/oidc-provider ]; then
  say "installing the development identity provider (npm oidc-provider)"
  (cd devidp && npm ci --no-audit --no-fund)
else
  say "development identity provider present"
fi

if [ "$want_chromium" = 1 ]; then
  if [ ! -d end2end/node_modules/@playwright/test ] || [ ! -d end2end/node_modules/@backstage/catalog-client ]; then
    say "installing end-to-end test packages"
    (cd end2end && npm install --no-audit --no-fund)
  else
    say "end-to-end test packages present"
  fi
fi
