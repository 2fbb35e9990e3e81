#!/usr/bin/env bash
# Tests the Luigi integration (integrations/luigi) with real Luigi from PyPI, in a venv kept at
# target/py-luigi. Creates the venv when missing and installs the package and pytest only when
# the package's sources changed since the last install, so a second run goes straight to pytest.
#
#   scripts/luigi-test.sh [PYTEST ARGS...]     (e.g. -k cli, -x, -q)
#
# Environment: PYTHON (default python3, needs 3.9+), LUIGI_VENV (default target/py-luigi),
# LUIGI_SETUP_ONLY=1 (prepare the venv and stop: the end-to-end tests run the example pipeline
# from it against a real Bearing).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
PYTHON=${PYTHON:-python3}
VENV=${LUIGI_VENV:-target/py-luigi}
PKG=integrations/luigi

if [ ! -x "$VENV/bin/python" ]; then
  say "creating the Luigi test venv at $VENV"
  "$PYTHON" -m venv "$VENV"
fi

# Reinstall when pyproject.toml or a source file changed (the stamp records their checksum).
stamp="$VENV/.bearing-luigi-installed"
sum=$(find "$PKG/pyproject.toml" "$PKG/src" -type f \( -name '*.py' -o -name '*.toml' \) -print0 \
  | sort -z | xargs -0 cat | cksum | awk '{print $1}')
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ] || ! "$VENV/bin/python" -c 'import bearing_luigi, pytest' 2>/dev/null; then
  say "installing ./$PKG and pytest into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "./$PKG" pytest
  rm -rf "$PKG/build" "$PKG/src/"*.egg-info
  echo "$sum" > "$stamp"
else
  say "bearing-luigi installed in $VENV (unchanged)"
fi

if [ "${LUIGI_SETUP_ONLY:-0}" = 1 ]; then exit 0; fi

say "Luigi integration tests ($("$VENV/bin/python" -c 'import luigi, importlib.metadata as m; print("luigi", luigi.__version__, "openlineage-python", m.version("openlineage-python"))'))"
cd "$PKG"
exec "../../$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
