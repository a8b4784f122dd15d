#!/usr/bin/env bash
# The Ray that raysl's tests run against: ray[default,train,tune,data,serve]==$RAYSL_RAY_VERSION and
# torch==$RAYSL_TORCH_VERSION (Ray's libraries, examples/ray/) in a virtual environment of the
# project's own, reused when it is already there and matches, rebuilt when it does not.
# Prints the venv's `ray` executable on stdout (everything else goes to stderr); exits non-zero
# with a reason when it cannot provide it (never a silent skip).
#
#   scripts/ray-venv.sh              install or reuse; prints e.g. /root/.cache/raysl/ray-2.60.0-libs/bin/ray
#   scripts/ray-venv.sh --check      exit 0 if the venv is there and matches, 1 otherwise
#
# RAYSL_RAY_VERSION (default 2.60.0), RAYSL_TORCH_VERSION (default 2.13.0: pinned exactly, the CPU
# build; a range or another version pulls a CUDA build of several GB), RAYSL_RAY_VENV (default
# ~/.cache/raysl/ray-<version>-libs: the key names the extras, so a venv of plain ray[default] is
# never mistaken for this one), RAYSL_PYTHON (default python3, >= 3.10: Ray 2.60's wheels need it).
set -euo pipefail

VERSION="${RAYSL_RAY_VERSION:-2.60.0}"
TORCH="${RAYSL_TORCH_VERSION:-2.13.0}"
EXTRAS="default,train,tune,data,serve"
VENV="${RAYSL_RAY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/raysl/ray-$VERSION-libs}"
PY="${RAYSL_PYTHON:-python3}"

say() { printf 'ray-venv: %s\n' "$*" >&2; }
die() { printf 'ray-venv: error: %s\n' "$1" >&2; [ -n "${2:-}" ] && printf 'ray-venv: hint: %s\n' "$2" >&2; exit 1; }

# The venv matches when its ray reports the version, the [default] extras (dashboard, Jobs API,
# Ray Client: aiohttp, grpcio; without them `ray start --head` fails on --ray-client-server-port)
# and the libraries' extras import, and torch is the pinned version.
matches() {
  [ -x "$VENV/bin/ray" ] && [ -x "$VENV/bin/python" ] || return 1
  [ "$("$VENV/bin/ray" --version 2>/dev/null)" = "ray, version $VERSION" ] || return 1
  "$VENV/bin/python" -c '
import sys, aiohttp, grpc, ray.dashboard, ray.util.client
import ray.train.torch, ray.tune, ray.data, ray.serve, pyarrow, pandas, fastapi, uvicorn, torch
sys.exit(0 if torch.__version__.split("+")[0] == sys.argv[1] else 1)' "$TORCH" >/dev/null 2>&1
}

# pip's output to stderr, without the notes about index locations this machine's pip.conf names
pip_install() {
  "$VENV/bin/pip" install --disable-pip-version-check -q "ray[$EXTRAS]==$VERSION" "torch==$TORCH" 2>&1 | { grep -v '^WARNING: Location' || true; } >&2
}

if [ "${1:-}" = "--check" ]; then
  matches && exit 0
  say "no matching Ray $VERSION venv at $VENV"
  exit 1
fi

if matches; then
  printf '%s\n' "$VENV/bin/ray"
  exit 0
fi

# Two test projects may ask at once: one installs, the other waits for it and reuses the result.
mkdir -p -- "$(dirname -- "$VENV")"
exec 9>"$VENV.lock"
flock 9
if matches; then
  printf '%s\n' "$VENV/bin/ray"
  exit 0
fi

command -v "$PY" >/dev/null || die "no $PY on PATH: Ray $VERSION needs CPython >= 3.10" "install python3 and python3-venv, or set RAYSL_PYTHON"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || die "$PY is $("$PY" -V 2>&1): Ray $VERSION needs >= 3.10" "set RAYSL_PYTHON to a newer interpreter"

if [ -e "$VENV" ]; then
  say "$VENV exists but does not hold a working ray[$EXTRAS]==$VERSION with torch==$TORCH: rebuilding it"
  rm -rf -- "$VENV"
fi
start=$(date +%s)
say "creating $VENV with ray[$EXTRAS]==$VERSION and torch==$TORCH"
# a half-built venv (pip interrupted) fails `matches` next time and is rebuilt
"$PY" -m venv "$VENV" >&2 || die "$PY -m venv failed" "install python3-venv (apt-get install python3-venv)"
pip_install \
  || { rm -rf -- "$VENV"; die "pip could not install ray[$EXTRAS]==$VERSION torch==$TORCH" "check that this machine reaches the Python package index"; }
matches || { rm -rf -- "$VENV"; die "the new venv at $VENV does not run ray $VERSION with its [$EXTRAS] extras and torch $TORCH" "run $VENV/bin/python -c 'import ray.train.torch, ray.serve, torch' to see why"; }
say "ready in $(( $(date +%s) - start )) s: $("$VENV/bin/ray" --version)"
printf '%s\n' "$VENV/bin/ray"
